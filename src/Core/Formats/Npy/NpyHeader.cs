namespace Skim.Core.Formats.Npy;

/// <summary>
/// What an <c>.npy</c> header says: element type and C-order shape, plus where the data starts.
/// Skim reads only little-endian, C-order arrays of the types in <see cref="NpyDType"/>.
/// </summary>
public sealed class NpyHeader
{
    private readonly long[] _shape;

    /// <summary>Creates a header for an array of <paramref name="dtype"/> with <paramref name="shape"/> (empty for a 0-d array).</summary>
    /// <exception cref="ArgumentException">A dimension is negative or the element count overflows.</exception>
    public NpyHeader(NpyDType dtype, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        _shape = [.. shape];
        DType = dtype;
        ElementCount = CountElements(_shape) ?? throw new ArgumentException($"shape ({string.Join(", ", _shape)}) has a negative dimension or too many elements", nameof(shape));
        RowLength = _shape.Length <= 1 ? 1 : CountElements(_shape.AsSpan(1)) ?? 0;
    }

    /// <summary>Gets the element type.</summary>
    public NpyDType DType { get; }

    /// <summary>Gets the shape (a copy; empty for a 0-d array).</summary>
    public long[] Shape => [.. _shape];

    /// <summary>Gets the number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Gets the number of elements (1 for a 0-d array).</summary>
    public long ElementCount { get; }

    /// <summary>Gets the number of bytes of array data.</summary>
    public long DataLength => ElementCount * DType.ItemSize();

    /// <summary>Gets the number of rows: the first dimension, or 1 for a 0-d array.</summary>
    public long Rows => _shape.Length == 0 ? 1 : _shape[0];

    /// <summary>Gets the number of elements in one row: the product of all dimensions after the first.</summary>
    public long RowLength { get; }

    /// <summary>Gets the format version of the file this header was read from (1, 2 or 3), or 0 when not read from a file.</summary>
    public int Version { get; init; }

    /// <summary>Gets the offset of the array data from the start of the file (or zip member), or 0 when not read from a file.</summary>
    public long DataOffset { get; init; }

    /// <summary>Gets the shape as numpy prints it, e.g. <c>(3, 4)</c> or <c>(5,)</c>.</summary>
    public string ShapeText => NpyHeaderCodec.FormatShape(_shape);

    /// <inheritdoc />
    public override string ToString() => $"{DType.Descr()} {ShapeText}";

    internal ReadOnlySpan<long> ShapeSpan => _shape;

    /// <summary>Multiplies the dimensions; null when one is negative or the product overflows.</summary>
    internal static long? CountElements(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                return null;
            }
            try
            {
                count = checked(count * d);
            }
            catch (OverflowException)
            {
                return null;
            }
        }
        return count;
    }
}
