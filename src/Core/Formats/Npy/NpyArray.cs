using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Skim.Core.Formats.Npy;

/// <summary>
/// A whole n-dimensional array in C order, as <c>numpy.load</c> returns it: a typed .NET array
/// (<see cref="Data"/>, one of <c>bool[]</c>, <c>byte[]</c>, <c>int[]</c>, <c>long[]</c>,
/// <c>Half[]</c>, <c>float[]</c>, <c>double[]</c>) plus its shape.
/// </summary>
public sealed class NpyArray
{
    private readonly long[] _shape;

    /// <summary>Wraps <paramref name="data"/> (not copied) with <paramref name="shape"/> (empty for a 0-d array).</summary>
    /// <exception cref="ArgumentException">The element type has no dtype or the shape does not match the length.</exception>
    public NpyArray(Array data, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (data.Rank != 1)
        {
            throw new ArgumentException("data must be a one-dimensional .NET array holding the elements in C order", nameof(data));
        }
        DType = NpyDTypeExtensions.FromClrType(data.GetType().GetElementType()!);
        _shape = [.. shape];
        var count = NpyHeader.CountElements(_shape);
        if (count != data.LongLength)
        {
            throw new ArgumentException($"shape {NpyHeaderCodec.FormatShape(_shape)} holds {count?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "an invalid number of"} elements but data has {data.LongLength}", nameof(shape));
        }
        Data = data;
    }

    /// <summary>Gets the element type.</summary>
    public NpyDType DType { get; }

    /// <summary>Gets the shape (a copy; empty for a 0-d array).</summary>
    public long[] Shape => [.. _shape];

    /// <summary>Gets the elements in C order; the array's element type is <see cref="NpyDTypeExtensions.ClrType"/> of <see cref="DType"/>.</summary>
    public Array Data { get; }

    /// <summary>Gets the number of elements.</summary>
    public long Length => Data.LongLength;

    /// <summary>Gets a header describing this array.</summary>
    public NpyHeader Header => new(DType, _shape);

    /// <summary>Wraps <paramref name="data"/> with <paramref name="shape"/>; without a shape the array is 1-d.</summary>
    public static NpyArray Create<T>(T[] data, params long[] shape)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        return new NpyArray(data, shape is { Length: > 0 } ? shape : [data.LongLength]);
    }

    /// <summary>Creates a 0-d array holding <paramref name="value"/>.</summary>
    public static NpyArray Scalar<T>(T value)
        where T : unmanaged => new(new[] { value }, []);

    /// <summary>Gets the elements as <typeparamref name="T"/>[] (no copy).</summary>
    /// <exception cref="InvalidOperationException">The array holds another element type.</exception>
    public T[] As<T>()
        where T : unmanaged =>
        Data as T[] ?? throw new InvalidOperationException($"array holds {DType} ({Data.GetType().GetElementType()!.Name}), not {typeof(T).Name}");

    /// <summary>Gets <paramref name="length"/> bytes of <paramref name="array"/> starting at byte <paramref name="offset"/>.</summary>
    internal static Span<byte> Bytes(Array array, long offset, int length)
    {
        ref var start = ref MemoryMarshal.GetArrayDataReference(array);
        return MemoryMarshal.CreateSpan(ref Unsafe.Add(ref start, (nint)offset), length);
    }

    /// <summary>
    /// Allocates the .NET array for <paramref name="header"/>; the caller has bounded its size by the file
    /// length and fills every element, so the memory is not zeroed first.
    /// </summary>
    internal static Array Allocate(NpyHeader header, string path, string? location)
    {
        if (header.ElementCount > Array.MaxLength)
        {
            throw new SkimFormatException(path, location, $"{header.ElementCount:N0} elements exceed the {Array.MaxLength:N0} one .NET array holds; open the file with NpyMemoryMap and read it in row blocks");
        }
        var n = (int)header.ElementCount;
        return header.DType switch
        {
            NpyDType.Bool => GC.AllocateUninitializedArray<bool>(n),
            NpyDType.UInt8 => GC.AllocateUninitializedArray<byte>(n),
            NpyDType.Int32 => GC.AllocateUninitializedArray<int>(n),
            NpyDType.Int64 => GC.AllocateUninitializedArray<long>(n),
            NpyDType.Float16 => GC.AllocateUninitializedArray<Half>(n),
            NpyDType.Float32 => GC.AllocateUninitializedArray<float>(n),
            NpyDType.Float64 => GC.AllocateUninitializedArray<double>(n),
            _ => throw new ArgumentOutOfRangeException(nameof(header), header.DType, "unknown dtype"),
        };
    }
}
