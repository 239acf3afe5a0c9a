using System.Runtime.InteropServices;
using Skim.Core.IO;

namespace Skim.Core.Formats.Npy;

/// <summary>
/// Writes an <c>.npy</c> file row block by row block, for arrays too large to build in memory
/// (embeddings, token ids). The dtype and shape are fixed up front; <see cref="Complete"/> checks that
/// exactly <see cref="NpyHeader.Rows"/> rows arrived and only then renames the file into place, so an
/// interrupted or short write leaves no file behind.
/// </summary>
public sealed class NpyWriter : IDisposable
{
    private readonly AtomicFileStream _stream;
    private long _rowsWritten;
    private bool _completed;

    private NpyWriter(AtomicFileStream stream, NpyHeader header)
    {
        _stream = stream;
        Header = header;
    }

    /// <summary>Gets the path the file will have once completed.</summary>
    public string Path => _stream.TargetPath;

    /// <summary>Gets the header being written.</summary>
    public NpyHeader Header { get; }

    /// <summary>Gets the number of rows written so far.</summary>
    public long RowsWritten => Header.RowLength == 0 ? Header.Rows : _rowsWritten;

    /// <summary>
    /// Starts writing <paramref name="path"/> with <paramref name="dtype"/> and <paramref name="shape"/>
    /// (the first dimension is the row count; empty for a 0-d array, which has one row of one element).
    /// </summary>
    public static NpyWriter Create(string path, NpyDType dtype, IReadOnlyList<long> shape, int? version = null)
    {
        var header = new NpyHeader(dtype, shape);
        var stream = AtomicFileStream.Create(path);
        try
        {
            stream.Write(NpyHeaderCodec.Encode(dtype.Descr(), header.ShapeSpan, version));
            return new NpyWriter(stream, header);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends whole rows: <paramref name="values"/> holds a multiple of <see cref="NpyHeader.RowLength"/> elements in C order.</summary>
    /// <exception cref="ArgumentException">The element type does not match the dtype or the length is not whole rows.</exception>
    /// <exception cref="InvalidOperationException">More rows than the shape announces, or the writer is completed.</exception>
    public void WriteRows<T>(ReadOnlySpan<T> values)
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (typeof(T) != Header.DType.ClrType())
        {
            throw new ArgumentException($"{Path}: rows of {typeof(T).Name} cannot go into a {Header.DType} array", nameof(values));
        }
        if (Header.RowLength == 0)
        {
            return;
        }
        if (values.Length % Header.RowLength != 0)
        {
            throw new ArgumentException($"{Path}: {values.Length} values are not whole rows of {Header.RowLength}", nameof(values));
        }
        var rows = values.Length / Header.RowLength;
        if (_rowsWritten + rows > Header.Rows)
        {
            throw new InvalidOperationException($"{Path}: writing {rows} more rows after {_rowsWritten} exceeds the {Header.Rows} rows of shape {Header.ShapeText}");
        }
        _stream.Write(MemoryMarshal.AsBytes(values));
        _rowsWritten += rows;
    }

    /// <summary>Checks the row count and renames the finished file into place.</summary>
    /// <exception cref="InvalidOperationException">Fewer rows were written than the shape announces; no file is left.</exception>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (RowsWritten != Header.Rows)
        {
            Dispose();
            throw new InvalidOperationException($"{Path}: {RowsWritten} rows written but shape {Header.ShapeText} needs {Header.Rows}; no file was written");
        }
        _stream.Commit();
        _completed = true;
    }

    /// <summary>Discards the file unless <see cref="Complete"/> succeeded.</summary>
    public void Dispose()
    {
        _completed = true;
        _stream.Dispose();
    }
}
