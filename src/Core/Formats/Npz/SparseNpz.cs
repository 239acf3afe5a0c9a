using System.Runtime.InteropServices;
using System.Text;
using Skim.Core.Formats.Npy;
using Skim.Core.IO;
using Skim.Core.Sparse;

namespace Skim.Core.Formats.Npz;

/// <summary>
/// Reads and writes CSR matrices in the <c>.npz</c> layout of <c>scipy.sparse.save_npz</c>:
/// members <c>indices.npy</c>, <c>indptr.npy</c>, <c>format.npy</c> (<c>b'csr'</c>),
/// <c>shape.npy</c> and <c>data.npy</c>, in that order, stored or deflated.
/// </summary>
public static class SparseNpz
{
    private const int ConvertChunk = 1 << 16;

    /// <summary>
    /// Reads a CSR matrix as <c>scipy.sparse.load_npz</c> does. Index arrays may be int32 or int64;
    /// data of any supported dtype is converted to float32. Unknown members are ignored.
    /// </summary>
    /// <exception cref="SkimFormatException">The file is not a valid scipy CSR .npz (a CSC/COO/BSR matrix is refused by name).</exception>
    /// <exception cref="SkimException">The matrix has more non-zeros than one .NET array holds.</exception>
    public static CsrMatrix Load(string path)
    {
        using var archive = NpzArchive.Open(path);
        var formatEntry = archive.Require("format");
        var format = ReadFormat(archive, formatEntry);
        if (format != "csr")
        {
            throw new SkimFormatException(path, formatEntry.Name, $"matrix format is '{format}' but only 'csr' is supported; convert it with scipy (matrix.tocsr()) and save it again");
        }
        var (rows, columns) = ReadShape(archive, archive.Require("shape"));

        var indptrEntry = archive.Require("indptr");
        var indicesEntry = archive.Require("indices");
        var dataEntry = archive.Require("data");
        var (indptrStream, indptrHeader) = OpenVector(archive, indptrEntry);
        var (indicesStream, indicesHeader) = OpenVector(archive, indicesEntry);
        var (dataStream, dataHeader) = OpenVector(archive, dataEntry);
        using (indptrStream)
        using (indicesStream)
        using (dataStream)
        {
            if (indptrHeader.ElementCount != rows + 1L)
            {
                throw new SkimFormatException(path, indptrEntry.Name, $"indptr has {indptrHeader.ElementCount} entries, expected rows + 1 = {rows + 1L}");
            }
            RequireIndexType(path, indptrEntry.Name, indptrHeader);
            RequireIndexType(path, indicesEntry.Name, indicesHeader);
            if (dataHeader.ElementCount != indicesHeader.ElementCount)
            {
                throw new SkimFormatException(path, dataEntry.Name, $"data has {dataHeader.ElementCount} entries but indices has {indicesHeader.ElementCount}");
            }
            var indPtr = ReadIndPtr(indptrStream, indptrHeader, path, indptrEntry.Name);
            CsrMatrix.EnsureNonZerosFit(indicesHeader.ElementCount, path);
            // indices and data are the bulk of the file: inflate them on two cores.
            var dataTask = Task.Run(() => ReadFloats(dataStream, dataHeader, path, dataEntry.Name));
            int[] indices;
            try
            {
                indices = ReadInts(indicesStream, indicesHeader, path, indicesEntry.Name);
            }
            finally
            {
                dataTask.Wait();
            }
            var data = dataTask.GetAwaiter().GetResult();
            try
            {
                return new CsrMatrix(rows, columns, indPtr, indices, data);
            }
            catch (SkimDataException e)
            {
                var member = e.Location == CsrMatrix.IndicesName ? indicesEntry.Name : indptrEntry.Name;
                throw new SkimFormatException(path, member, e.Problem);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="matrix"/> atomically as <c>scipy.sparse.save_npz</c> does. With
    /// compression, <c>data</c> is deflated on a second core while <c>indices</c> streams to disk.
    /// </summary>
    /// <exception cref="SkimConfigException">An option is invalid.</exception>
    public static void Save(string path, CsrMatrix matrix, SparseNpzOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        options ??= new SparseNpzOptions();
        options.Validate();
        var deflate = options.Compressed;
        AtomicFile.Write(path, stream =>
        {
            var zip = new ZipWriter(stream) { ForceZip64 = options.ForceZip64 };
            Task<PreparedZipMember>? dataTask = deflate
                ? Task.Run(() => ZipWriter.Prepare("data.npy", true, s => WriteFloats(s, matrix.Data, options.DataType)))
                : null;
            try
            {
                zip.Add("indices.npy", deflate, s => WriteInts(s, matrix.Indices, options.IndexType));
                zip.Add("indptr.npy", deflate, s => WriteInts(s, matrix.IndPtr, options.IndexType));
                zip.Add("format.npy", deflate, s =>
                {
                    s.Write(NpyHeaderCodec.Encode("|S3", [], null));
                    s.Write("csr"u8);
                });
                zip.Add("shape.npy", deflate, s => NpyFile.WriteArray(s, NpyArray.Create(new long[] { matrix.Rows, matrix.Columns }), null));
                if (dataTask is null)
                {
                    zip.Add("data.npy", false, s => WriteFloats(s, matrix.Data, options.DataType));
                }
                else
                {
                    zip.Add(dataTask.GetAwaiter().GetResult());
                }
            }
            finally
            {
                dataTask?.Wait();
            }
            zip.Finish();
        });
    }

    private static string ReadFormat(NpzArchive archive, ZipEntry entry)
    {
        var (stream, raw) = archive.OpenRaw(entry);
        using (stream)
        {
            var descr = raw.Descr;
            var isBytes = descr.StartsWith("|S", StringComparison.Ordinal);
            var isUnicode = descr.StartsWith("<U", StringComparison.Ordinal);
            if ((!isBytes && !isUnicode) || !int.TryParse(descr.AsSpan(2), out var width) || width is < 1 or > 64 || raw.Shape.Length != 0)
            {
                throw new SkimFormatException(archive.Path, entry.Name, $"expected a 0-d byte string (|S3) holding the matrix format, found dtype '{descr}' shape {NpyHeaderCodec.FormatShape(raw.Shape)}");
            }
            var size = isBytes ? width : width * 4;
            if (entry.UncompressedSize - raw.DataOffset != size)
            {
                throw new SkimFormatException(archive.Path, entry.Name, $"{descr} value needs {size} bytes but {entry.UncompressedSize - raw.DataOffset} follow the header");
            }
            var bytes = new byte[size];
            stream.ReadExactly(bytes);
            var text = isBytes ? Encoding.ASCII.GetString(bytes) : Encoding.UTF32.GetString(bytes);
            return text.TrimEnd('\0');
        }
    }

    private static (int Rows, int Columns) ReadShape(NpzArchive archive, ZipEntry entry)
    {
        var array = archive.Read("shape");
        long[] values = array.DType switch
        {
            NpyDType.Int64 => array.As<long>(),
            NpyDType.Int32 => [.. array.As<int>().Select(v => (long)v)],
            _ => throw new SkimFormatException(archive.Path, entry.Name, $"shape has dtype {array.DType.Descr()}, expected <i8 or <i4"),
        };
        if (values.Length != 2 || array.Shape.Length != 1)
        {
            throw new SkimFormatException(archive.Path, entry.Name, $"shape must hold 2 values (rows, columns), found {values.Length}");
        }
        if (values[0] is < 0 or > int.MaxValue || values[1] is < 0 or > int.MaxValue)
        {
            throw new SkimFormatException(archive.Path, entry.Name, $"shape ({values[0]}, {values[1]}) is outside [0, {int.MaxValue}] per dimension");
        }
        return ((int)values[0], (int)values[1]);
    }

    private static (Stream Stream, NpyHeader Header) OpenVector(NpzArchive archive, ZipEntry entry)
    {
        var (stream, raw) = archive.OpenRaw(entry);
        try
        {
            var header = NpyHeaderCodec.Resolve(raw, entry.UncompressedSize, archive.Path, entry.Name);
            if (header.Rank != 1)
            {
                throw new SkimFormatException(archive.Path, entry.Name, $"expected a 1-d array, found shape {header.ShapeText}");
            }
            return (stream, header);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static void RequireIndexType(string path, string member, NpyHeader header)
    {
        if (header.DType is not (NpyDType.Int32 or NpyDType.Int64))
        {
            throw new SkimFormatException(path, member, $"dtype {header.DType.Descr()} is not an index type, expected <i4 or <i8");
        }
    }

    private static int[] ReadIndPtr(Stream stream, NpyHeader header, string path, string member)
    {
        if (header.DType == NpyDType.Int32)
        {
            return ReadInts(stream, header, path, member);
        }
        var wide = new long[header.ElementCount];
        NpyFile.ReadPayload(stream, wide, header.DataLength, path, member);
        var last = wide[^1];
        CsrMatrix.EnsureNonZerosFit(last, path);
        var result = new int[wide.Length];
        for (var i = 0; i < wide.Length; i++)
        {
            if ((ulong)wide[i] > (ulong)last)
            {
                throw new SkimFormatException(path, member, $"indptr value {wide[i]} at row {i} is outside [0, nnz = {last}]");
            }
            result[i] = (int)wide[i];
        }
        return result;
    }

    private static int[] ReadInts(Stream stream, NpyHeader header, string path, string member)
    {
        var result = GC.AllocateUninitializedArray<int>(checked((int)header.ElementCount));
        if (header.DType == NpyDType.Int32)
        {
            NpyFile.ReadPayload(stream, result, header.DataLength, path, member);
            return result;
        }
        var buffer = new long[ConvertChunk];
        for (var done = 0; done < result.Length;)
        {
            var k = Math.Min(buffer.Length, result.Length - done);
            stream.ReadExactly(MemoryMarshal.AsBytes(buffer.AsSpan(0, k)));
            for (var i = 0; i < k; i++)
            {
                var v = buffer[i];
                if (v is < int.MinValue or > int.MaxValue)
                {
                    throw new SkimFormatException(path, member, $"index {v} at position {done + i} is outside the int32 range");
                }
                result[done + i] = (int)v;
            }
            done += k;
        }
        return result;
    }

    private static float[] ReadFloats(Stream stream, NpyHeader header, string path, string member)
    {
        var result = GC.AllocateUninitializedArray<float>(checked((int)header.ElementCount));
        if (header.DType == NpyDType.Float32)
        {
            NpyFile.ReadPayload(stream, result, header.DataLength, path, member);
            return result;
        }
        var itemSize = header.DType.ItemSize();
        var buffer = new byte[ConvertChunk * 8];
        var perChunk = buffer.Length / itemSize;
        for (var done = 0; done < result.Length;)
        {
            var k = Math.Min(perChunk, result.Length - done);
            var src = buffer.AsSpan(0, k * itemSize);
            stream.ReadExactly(src);
            var dst = result.AsSpan(done, k);
            switch (header.DType)
            {
                case NpyDType.Float64:
                    Narrow(MemoryMarshal.Cast<byte, double>(src), dst);
                    break;
                case NpyDType.Float16:
                    var halves = MemoryMarshal.Cast<byte, Half>(src);
                    for (var i = 0; i < k; i++)
                    {
                        dst[i] = (float)halves[i];
                    }
                    break;
                case NpyDType.Int32:
                    var ints = MemoryMarshal.Cast<byte, int>(src);
                    for (var i = 0; i < k; i++)
                    {
                        dst[i] = ints[i];
                    }
                    break;
                case NpyDType.Int64:
                    var longs = MemoryMarshal.Cast<byte, long>(src);
                    for (var i = 0; i < k; i++)
                    {
                        dst[i] = longs[i];
                    }
                    break;
                default:
                    // uint8 and bool: one byte per value; numpy reads any non-zero bool byte as true.
                    for (var i = 0; i < k; i++)
                    {
                        dst[i] = header.DType == NpyDType.Bool ? (src[i] != 0 ? 1f : 0f) : src[i];
                    }
                    break;
            }
            done += k;
        }
        return result;
    }

    private static void Narrow(ReadOnlySpan<double> source, Span<float> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = (float)source[i];
        }
    }

    private static void WriteInts(Stream stream, int[] values, NpyDType type)
    {
        stream.Write(NpyHeaderCodec.Encode(type.Descr(), [values.LongLength], null));
        if (type == NpyDType.Int32)
        {
            NpyFile.WritePayload(stream, values, values.LongLength * sizeof(int));
            return;
        }
        WriteWidened<int, long>(stream, values);
    }

    private static void WriteFloats(Stream stream, float[] values, NpyDType type)
    {
        stream.Write(NpyHeaderCodec.Encode(type.Descr(), [values.LongLength], null));
        if (type == NpyDType.Float32)
        {
            NpyFile.WritePayload(stream, values, values.LongLength * sizeof(float));
            return;
        }
        WriteWidened<float, double>(stream, values);
    }

    /// <summary>Writes <paramref name="values"/> widened to <typeparamref name="TOut"/>, a bounded chunk at a time.</summary>
    private static void WriteWidened<TIn, TOut>(Stream stream, TIn[] values)
        where TIn : unmanaged, System.Numerics.INumberBase<TIn>
        where TOut : unmanaged, System.Numerics.INumberBase<TOut>
    {
        var buffer = new TOut[Math.Min(ConvertChunk, values.Length)];
        for (var done = 0; done < values.Length;)
        {
            var k = Math.Min(buffer.Length, values.Length - done);
            for (var i = 0; i < k; i++)
            {
                buffer[i] = TOut.CreateTruncating(values[done + i]);
            }
            stream.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, k)));
            done += k;
        }
    }
}
