using System.Runtime.InteropServices;
using Skim.Core;
using Skim.Core.Formats.Npy;

namespace Skim.MapQueries.Step2;

/// <summary>
/// The durable unit of step-2: rows are cut into chunks of a fixed size, each chunk is written as its
/// own <c>STEM.part-NNNNN.npy</c> (atomically, so a file that exists is complete), and the parts are
/// concatenated into the final file once all exist.
/// </summary>
/// <remarks>
/// Chunk files rather than one preallocated file with a done-bitmap: a part either exists whole or
/// not at all (the atomic rename is the only bookkeeping, no bitmap can disagree with the data after
/// a crash), and a shard of the rows is simply a range of chunks. The price is one sequential copy
/// at the end, small next to the encoder's work.
/// </remarks>
internal static class NpyChunks
{
    // Rows are copied between files in blocks of about this many bytes.
    private const int CopyBlockBytes = 1 << 22;

    /// <summary>Gets the number of chunks of <paramref name="rows"/> rows.</summary>
    public static int Count(long rows, int chunkRows) => checked((int)((rows + chunkRows - 1) / chunkRows));

    /// <summary>Gets the rows of chunk <paramref name="chunk"/>.</summary>
    public static (long First, int Count) Range(int chunk, long rows, int chunkRows)
    {
        var first = (long)chunk * chunkRows;
        return (first, (int)Math.Min(chunkRows, rows - first));
    }

    /// <summary>Gets the chunks shard <paramref name="index"/> of <paramref name="count"/> owns: a balanced contiguous range.</summary>
    public static (int First, int End) ShardChunks(int chunks, int index, int count)
    {
        var baseLength = chunks / count;
        var extra = chunks % count;
        var first = (index * baseLength) + Math.Min(index, extra);
        return (first, first + baseLength + (index < extra ? 1 : 0));
    }

    /// <summary>Gets the path of a part file.</summary>
    public static string PartPath(string partsDirectory, string stem, int chunk) =>
        Path.Combine(partsDirectory, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{stem}.part-{chunk:D5}.npy"));

    /// <summary>
    /// Checks that an existing <c>.npy</c> file holds (rows, width) values of <paramref name="dtype"/>;
    /// <paramref name="width"/> null accepts any width. Returns the width.
    /// </summary>
    /// <exception cref="SkimDataException">The dtype, row count or width differ (the message names the file and both values).</exception>
    public static long CheckMatrix(string path, NpyDType dtype, long rows, long? width, string what)
    {
        var header = NpyFile.ReadHeader(path);
        if (header.Rank != 2)
        {
            throw new SkimDataException(path, null, $"expected a 2-d (rows, dimension) array of {what}, found shape {header.ShapeText}");
        }
        if (header.DType != dtype)
        {
            throw new SkimDataException(path, null, $"expected dtype {dtype.Descr()} for {what}, found {header.DType.Descr()}");
        }
        if (header.Rows != rows)
        {
            throw new SkimDataException(path, null, $"expected {rows} rows ({what}), found {header.Rows}");
        }
        if (width is { } w && header.RowLength != w)
        {
            throw new SkimDataException(path, null, $"expected rows of {w} values ({what}), found {header.RowLength}: the embedding dimensions do not match");
        }
        return header.RowLength;
    }

    /// <summary>Concatenates the row blocks of <paramref name="parts"/> (same dtype and width) into <paramref name="output"/>, written atomically.</summary>
    public static void Concatenate(IReadOnlyList<string> parts, string output, CancellationToken ct)
    {
        if (parts.Count == 0)
        {
            throw new ArgumentException("nothing to concatenate", nameof(parts));
        }
        var first = NpyFile.ReadHeader(parts[0]);
        var rows = parts.Sum(p => NpyFile.ReadHeader(p).Rows);
        using var writer = NpyWriter.Create(output, first.DType, [rows, first.RowLength]);
        foreach (var part in parts)
        {
            ct.ThrowIfCancellationRequested();
            using var map = NpyMemoryMap.Open(part);
            switch (first.DType)
            {
                case NpyDType.Float32: Copy<float>(map, writer); break;
                case NpyDType.Float16: Copy<Half>(map, writer); break;
                case NpyDType.Int32: Copy<int>(map, writer); break;
                default: throw new NotSupportedException($"{part}: dtype {first.DType} is not concatenated here");
            }
        }
        writer.Complete();
    }

    /// <summary>Reads rows of a float32 or float16 file as float32.</summary>
    public static float[] ReadFloatRows(NpyMemoryMap map, long firstRow, int rows)
    {
        var values = GC.AllocateUninitializedArray<float>(checked((int)(rows * map.RowLength)));
        if (map.Header.DType == NpyDType.Float32)
        {
            map.ReadRows<float>(firstRow, values);
        }
        else
        {
            Models.Search.EmbeddingRows.Widen(map.ReadRows<Half>(firstRow, rows), values);
        }
        return values;
    }

    /// <summary>Throws when a value is NaN or infinite, naming the file and the row.</summary>
    /// <exception cref="SkimDataException">A value is not finite.</exception>
    public static void CheckFinite(ReadOnlySpan<float> values, int width, long firstRow, string path)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new SkimDataException(path, $"row {firstRow + (i / width)}", $"expected finite embeddings, found {values[i]} (a NaN embedding cannot be searched; check the encoder's weights and dtype)");
            }
        }
    }

    /// <summary>Deletes a parts folder once its final file exists.</summary>
    public static void DeleteParts(string partsDirectory)
    {
        if (Directory.Exists(partsDirectory))
        {
            Directory.Delete(partsDirectory, recursive: true);
        }
    }

    private static void Copy<T>(NpyMemoryMap map, NpyWriter writer)
        where T : unmanaged
    {
        var rowBytes = Math.Max(1, map.RowLength * Marshal.SizeOf<T>());
        var blockRows = (int)Math.Max(1, CopyBlockBytes / rowBytes);
        var buffer = new T[blockRows * map.RowLength];
        for (long row = 0; row < map.Rows; row += blockRows)
        {
            var count = (int)Math.Min(blockRows, map.Rows - row);
            var span = buffer.AsSpan(0, (int)(count * map.RowLength));
            map.ReadRows<T>(row, span);
            writer.WriteRows<T>(span);
        }
    }
}
