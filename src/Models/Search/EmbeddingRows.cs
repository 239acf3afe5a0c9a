using Skim.Core;
using System.Buffers;
using System.Numerics.Tensors;
using Skim.Core.Formats.Npy;

namespace Skim.Models.Search;

/// <summary>
/// A (rows × dimension) float32 matrix that <see cref="ExactKnn"/> reads block by block: an array in
/// memory or a memory-mapped <c>.npy</c> file (so embeddings larger than memory can be searched).
/// </summary>
public abstract class EmbeddingRows
{
    private protected EmbeddingRows(long rows, int dimension, string name)
    {
        Rows = rows;
        Dimension = dimension;
        Name = name;
    }

    /// <summary>Gets the number of rows.</summary>
    public long Rows { get; }

    /// <summary>Gets the number of columns (the embedding size).</summary>
    public int Dimension { get; }

    /// <summary>Gets a name for error messages (the file path for a mapped file).</summary>
    public string Name { get; }

    /// <summary>Wraps a row-major array of <paramref name="rows"/> × <paramref name="dimension"/> values (not copied).</summary>
    /// <exception cref="ArgumentException">The length is not rows × dimension.</exception>
    public static EmbeddingRows FromArray(float[] values, int rows, int dimension, string name = "embeddings")
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(dimension);
        if (values.LongLength != (long)rows * dimension)
        {
            throw new ArgumentException($"{name}: {rows} x {dimension} embeddings need {(long)rows * dimension} values, found {values.LongLength}", nameof(values));
        }
        return new ArrayRows(values, rows, dimension, name);
    }

    /// <summary>
    /// Uses a mapped 2-d float32 or float16 <c>.npy</c> file; the map stays owned by the caller. float16
    /// rows are widened to float32 block by block as they are read, so the file is never copied whole.
    /// </summary>
    /// <exception cref="SkimFormatException">The file is not a 2-d float32 or float16 array.</exception>
    public static EmbeddingRows FromNpy(NpyMemoryMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Header.Rank != 2)
        {
            throw new SkimFormatException(map.Path, null, $"expected a 2-d (rows, dimension) embedding array, found shape {map.Header.ShapeText}");
        }
        if (map.Header.DType is not (NpyDType.Float32 or NpyDType.Float16))
        {
            throw new SkimFormatException(map.Path, null, $"expected dtype float32 (<f4) or float16 (<f2), found {map.Header.DType.Descr()}");
        }
        if (map.RowLength > int.MaxValue)
        {
            throw new SkimFormatException(map.Path, null, $"expected an embedding size below {int.MaxValue}, found {map.RowLength}");
        }
        return map.Header.DType == NpyDType.Float16 ? new MappedHalfRows(map) : new MappedRows(map);
    }

    /// <summary>Widens float16 values to float32 (vectorised).</summary>
    public static void Widen(ReadOnlySpan<Half> source, Span<float> destination) =>
        TensorPrimitives.ConvertToSingle(source, destination);

    /// <summary>Copies <paramref name="destination"/>.Length / Dimension whole rows starting at <paramref name="firstRow"/>.</summary>
    public abstract void ReadRows(long firstRow, Span<float> destination);

    /// <summary>
    /// Gets rows [<paramref name="firstRow"/>, <paramref name="firstRow"/> + <paramref name="rows"/>) as
    /// rows of their own (not copied): a shard of the targets, searched on its own and merged with
    /// <see cref="KnnResult.MergeTargetShards"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range lies outside the rows.</exception>
    public EmbeddingRows Slice(long firstRow, long rows)
    {
        if (firstRow < 0 || rows < 0 || firstRow > Rows - rows)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), firstRow, $"{Name}: rows {firstRow}..{firstRow + rows} lie outside [0, {Rows})");
        }
        return new SliceRows(this, firstRow, rows);
    }

    private sealed class ArrayRows(float[] values, int rows, int dimension, string name) : EmbeddingRows(rows, dimension, name)
    {
        public override void ReadRows(long firstRow, Span<float> destination) =>
            values.AsSpan((int)(firstRow * Dimension), destination.Length).CopyTo(destination);
    }

    private sealed class MappedRows(NpyMemoryMap map) : EmbeddingRows(map.Rows, (int)map.RowLength, map.Path)
    {
        public override void ReadRows(long firstRow, Span<float> destination) => map.ReadRows(firstRow, destination);
    }

    private sealed class SliceRows(EmbeddingRows source, long first, long rows) : EmbeddingRows(rows, source.Dimension, $"{source.Name} rows {first}..{first + rows}")
    {
        public override void ReadRows(long firstRow, Span<float> destination) => source.ReadRows(first + firstRow, destination);
    }

    private sealed class MappedHalfRows(NpyMemoryMap map) : EmbeddingRows(map.Rows, (int)map.RowLength, map.Path)
    {
        // Rows are read through a small rented buffer so the float16 file is never duplicated whole.
        private const int BufferValues = 1 << 18;

        public override void ReadRows(long firstRow, Span<float> destination)
        {
            var rowsPerRead = Math.Max(1, BufferValues / Math.Max(1, Dimension));
            var buffer = ArrayPool<Half>.Shared.Rent(rowsPerRead * Dimension);
            try
            {
                var totalRows = Dimension == 0 ? 0 : destination.Length / Dimension;
                for (var done = 0; done < totalRows; done += rowsPerRead)
                {
                    var rows = Math.Min(rowsPerRead, totalRows - done);
                    var half = buffer.AsSpan(0, rows * Dimension);
                    map.ReadRows(firstRow + done, half);
                    Widen(half, destination.Slice(done * Dimension, rows * Dimension));
                }
            }
            finally
            {
                ArrayPool<Half>.Shared.Return(buffer);
            }
        }
    }
}
