using Skim.Core;
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

    /// <summary>Uses a mapped 2-d float32 <c>.npy</c> file; the map stays owned by the caller.</summary>
    /// <exception cref="SkimFormatException">The file is not a 2-d float32 array.</exception>
    public static EmbeddingRows FromNpy(NpyMemoryMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Header.Rank != 2)
        {
            throw new SkimFormatException(map.Path, null, $"expected a 2-d (rows, dimension) embedding array, found shape {map.Header.ShapeText}");
        }
        if (map.Header.DType != NpyDType.Float32)
        {
            throw new SkimFormatException(map.Path, null, $"expected dtype float32 (<f4), found {map.Header.DType.Descr()}");
        }
        if (map.RowLength > int.MaxValue)
        {
            throw new SkimFormatException(map.Path, null, $"expected an embedding size below {int.MaxValue}, found {map.RowLength}");
        }
        return new MappedRows(map);
    }

    /// <summary>Copies <paramref name="destination"/>.Length / Dimension whole rows starting at <paramref name="firstRow"/>.</summary>
    public abstract void ReadRows(long firstRow, Span<float> destination);

    private sealed class ArrayRows(float[] values, int rows, int dimension, string name) : EmbeddingRows(rows, dimension, name)
    {
        public override void ReadRows(long firstRow, Span<float> destination) =>
            values.AsSpan((int)(firstRow * Dimension), destination.Length).CopyTo(destination);
    }

    private sealed class MappedRows(NpyMemoryMap map) : EmbeddingRows(map.Rows, (int)map.RowLength, map.Path)
    {
        public override void ReadRows(long firstRow, Span<float> destination) => map.ReadRows(firstRow, destination);
    }
}
