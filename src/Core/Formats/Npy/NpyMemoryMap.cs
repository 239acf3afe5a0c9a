using System.IO.MemoryMappedFiles;

namespace Skim.Core.Formats.Npy;

/// <summary>
/// A read-only memory map of an <c>.npy</c> file (as <c>numpy.load(path, mmap_mode='r')</c>): rows
/// or blocks of rows are copied out on demand, so files larger than memory can be read piece by piece.
/// </summary>
public sealed class NpyMemoryMap : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;

    private NpyMemoryMap(string path, NpyHeader header, MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        Path = path;
        Header = header;
        _file = file;
        _view = view;
    }

    /// <summary>Gets the mapped file's path.</summary>
    public string Path { get; }

    /// <summary>Gets the header (dtype, shape, data offset).</summary>
    public NpyHeader Header { get; }

    /// <summary>Gets the number of rows (the first dimension; 1 for a 0-d array).</summary>
    public long Rows => Header.Rows;

    /// <summary>Gets the number of elements per row.</summary>
    public long RowLength => Header.RowLength;

    /// <summary>Maps <paramref name="path"/> after checking its header against the file length.</summary>
    /// <exception cref="SkimFormatException">The file is not a supported .npy file.</exception>
    public static NpyMemoryMap Open(string path)
    {
        var header = NpyFile.ReadHeader(path);
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            return new NpyMemoryMap(path, header, file, view);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies rows starting at <paramref name="firstRow"/> into <paramref name="destination"/>, whose
    /// length must be a whole number of rows.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong element type, or not whole rows.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The rows lie outside the array.</exception>
    public void ReadRows<T>(long firstRow, Span<T> destination)
        where T : unmanaged
    {
        if (typeof(T) != Header.DType.ClrType())
        {
            throw new ArgumentException($"{Path}: array holds {Header.DType}, not {typeof(T).Name}", nameof(destination));
        }
        var rowLength = Math.Max(1, RowLength);
        if (destination.Length % rowLength != 0)
        {
            throw new ArgumentException($"{Path}: {destination.Length} elements are not whole rows of {RowLength}", nameof(destination));
        }
        var rows = RowLength == 0 ? 0 : destination.Length / RowLength;
        if (firstRow < 0 || firstRow > Rows - rows)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), firstRow, $"{Path}: rows {firstRow}..{firstRow + rows} lie outside [0, {Rows})");
        }
        if (destination.IsEmpty)
        {
            return;
        }
        var offset = Header.DataOffset + (firstRow * RowLength * Header.DType.ItemSize());
        _view.SafeMemoryMappedViewHandle.ReadSpan((ulong)offset, destination);
        if (typeof(T) == typeof(bool))
        {
            NpyFile.NormaliseBools(System.Runtime.InteropServices.MemoryMarshal.Cast<T, bool>(destination));
        }
    }

    /// <summary>Copies <paramref name="rowCount"/> rows starting at <paramref name="firstRow"/> into a new array.</summary>
    public T[] ReadRows<T>(long firstRow, int rowCount)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        var result = new T[checked(rowCount * RowLength)];
        ReadRows<T>(firstRow, result);
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _view.Dispose();
        _file.Dispose();
    }
}
