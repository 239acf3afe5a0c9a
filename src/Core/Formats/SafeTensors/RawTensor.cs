using System.Runtime.InteropServices;

namespace Skim.Core.Formats.SafeTensors;

/// <summary>
/// A named, dense, C-ordered, little-endian tensor as stored in a weight file, independent of any
/// tensor library (Skim.Models turns these into TorchSharp tensors). The bytes either live in
/// managed memory or are read on demand from an open weight file; in the latter case the tensor is
/// usable only while the file it came from is open.
/// </summary>
public sealed class RawTensor
{
    private const int ConversionChunkBytes = 1 << 16;

    private readonly long[] _shape;
    private readonly TensorData _data;

    /// <summary>Creates a tensor over <paramref name="data"/>, which must hold exactly shape × element-size bytes.</summary>
    /// <exception cref="ArgumentException">The shape has a negative dimension or does not match the byte count.</exception>
    public RawTensor(string name, TensorDType dtype, IReadOnlyList<long> shape, ReadOnlyMemory<byte> data)
        : this(name, dtype, CheckedShape(shape), new MemoryTensorData(data))
    {
    }

    internal RawTensor(string name, TensorDType dtype, long[] shape, TensorData data)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        DType = dtype;
        _shape = shape;
        ElementCount = ElementCountOf(shape) ?? throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] has too many elements", nameof(shape));
        _data = data;
        if (ElementCount * dtype.ElementSize() != data.Length)
        {
            throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtype.TorchName()} needs {ElementCount * dtype.ElementSize()} bytes, got {data.Length}", nameof(data));
        }
    }

    /// <summary>Gets the tensor's name (its state-dict key).</summary>
    public string Name { get; }

    /// <summary>Gets the element type.</summary>
    public TensorDType DType { get; }

    /// <summary>Gets the dimensions, outermost first (C order); empty for a scalar.</summary>
    public IReadOnlyList<long> Shape => _shape;

    /// <summary>Gets the number of elements (1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>Gets the size of the data in bytes.</summary>
    public long ByteLength => _data.Length;

    /// <summary>Gets the shape as "[2, 3]", for messages.</summary>
    public string ShapeText => $"[{string.Join(", ", _shape)}]";

    /// <summary>Creates a float tensor from float32 values, stored as <paramref name="dtype"/> (rounded to nearest even when narrowing).</summary>
    public static RawTensor FromFloat32(string name, IReadOnlyList<long> shape, ReadOnlySpan<float> values, TensorDType dtype = TensorDType.Float32)
    {
        var bytes = new byte[(long)values.Length * dtype.ElementSize()];
        FloatConversions.FromFloat32(values, dtype, bytes);
        return new RawTensor(name, dtype, shape, bytes);
    }

    /// <summary>Creates an int64 tensor from <paramref name="values"/>.</summary>
    public static RawTensor FromInt64(string name, IReadOnlyList<long> shape, ReadOnlySpan<long> values) =>
        new(name, TensorDType.Int64, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>Creates an int32 tensor from <paramref name="values"/>.</summary>
    public static RawTensor FromInt32(string name, IReadOnlyList<long> shape, ReadOnlySpan<int> values) =>
        new(name, TensorDType.Int32, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>Returns the same data under another name (no copy).</summary>
    public RawTensor WithName(string name) => new(name, DType, _shape, _data);

    /// <summary>Returns the same data with another shape of the same element count (no copy).</summary>
    public RawTensor Reshape(IReadOnlyList<long> shape) => new(Name, DType, CheckedShape(shape), _data);

    /// <summary>
    /// Gets the raw little-endian bytes: without copying when they are in managed memory, else copied
    /// out of the file into a new array.
    /// </summary>
    /// <exception cref="SkimException">The tensor is larger than a .NET array can hold; use <see cref="CopyTo(long, Span{byte})"/>.</exception>
    public ReadOnlyMemory<byte> GetBytes()
    {
        if (_data.TryGetMemory(out var memory))
        {
            return memory;
        }
        var bytes = GC.AllocateUninitializedArray<byte>(CheckedArrayLength(ByteLength));
        _data.CopyTo(0, bytes);
        return bytes;
    }

    /// <summary>Copies the raw bytes into <paramref name="destination"/>, whose length must equal <see cref="ByteLength"/>.</summary>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length != ByteLength)
        {
            throw new ArgumentException($"tensor '{Name}' has {ByteLength} bytes, destination has {destination.Length}", nameof(destination));
        }
        _data.CopyTo(0, destination);
    }

    /// <summary>
    /// Copies <paramref name="destination"/>.Length raw bytes starting at byte <paramref name="offset"/>;
    /// lets callers move tensors larger than 2 GB in pieces.
    /// </summary>
    public void CopyTo(long offset, Span<byte> destination)
    {
        if (offset < 0 || destination.Length > ByteLength - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"tensor '{Name}': range {offset}+{destination.Length} is outside its {ByteLength} bytes");
        }
        _data.CopyTo(offset, destination);
    }

    /// <summary>Copies the elements into <paramref name="destination"/> reinterpreted as <typeparamref name="T"/> (sizes must match exactly).</summary>
    public void CopyTo<T>(Span<T> destination)
        where T : unmanaged => CopyTo(MemoryMarshal.AsBytes(destination));

    /// <summary>Returns the values as float32: exact for f32/f16/bf16 and integers up to 2^24, rounded for f64.</summary>
    public float[] ToFloat32Array()
    {
        // Every element is overwritten below, so skip zeroing the (often large) array.
        var result = GC.AllocateUninitializedArray<float>(CheckedArrayLength(ElementCount));
        if (DType == TensorDType.Float32)
        {
            CopyTo<float>(result);
        }
        else if (_data.TryGetMemory(out var memory))
        {
            FloatConversions.ToFloat32(DType, memory.Span, result);
        }
        else
        {
            // Convert a file-backed tensor through a small buffer: one pass, no full-size byte copy.
            var elementSize = DType.ElementSize();
            var chunkElements = ConversionChunkBytes / elementSize;
            var buffer = new byte[ConversionChunkBytes];
            for (var start = 0; start < result.Length; start += chunkElements)
            {
                var count = Math.Min(chunkElements, result.Length - start);
                var bytes = buffer.AsSpan(0, count * elementSize);
                _data.CopyTo((long)start * elementSize, bytes);
                FloatConversions.ToFloat32(DType, bytes, result.AsSpan(start, count));
            }
        }
        return result;
    }

    /// <summary>Returns the values as float64 (exact for every dtype but int64 beyond 2^53).</summary>
    public double[] ToFloat64Array()
    {
        var result = GC.AllocateUninitializedArray<double>(CheckedArrayLength(ElementCount));
        FloatConversions.ToFloat64(DType, GetBytes().Span, result);
        return result;
    }

    /// <summary>Returns the values of an integer or bool tensor as int64.</summary>
    /// <exception cref="InvalidOperationException">The tensor holds floating-point values.</exception>
    public long[] ToInt64Array()
    {
        var result = GC.AllocateUninitializedArray<long>(CheckedArrayLength(ElementCount));
        FloatConversions.ToInt64(DType, GetBytes().Span, result);
        return result;
    }

    /// <summary>Returns a copy held in managed memory (detached from any open file), converted to <paramref name="dtype"/> if it differs.</summary>
    public RawTensor ToDType(TensorDType dtype)
    {
        if (dtype == DType)
        {
            return new RawTensor(Name, DType, _shape, GetBytes().ToArray());
        }
        if (dtype.IsFloatingPoint())
        {
            return FromFloat32(Name, _shape, ToFloat32Array(), dtype);
        }
        if (DType.IsFloatingPoint())
        {
            throw new InvalidOperationException($"tensor '{Name}': {DType.TorchName()} does not convert to {dtype.TorchName()} exactly");
        }
        var values = ToInt64Array();
        var bytes = new byte[CheckedArrayLength(ElementCount * dtype.ElementSize())];
        for (var i = 0; i < values.Length; i++)
        {
            switch (dtype)
            {
                case TensorDType.Int64: MemoryMarshal.Write(bytes.AsSpan(i * 8), values[i]); break;
                case TensorDType.Int32: MemoryMarshal.Write(bytes.AsSpan(i * 4), checked((int)values[i])); break;
                case TensorDType.Int16: MemoryMarshal.Write(bytes.AsSpan(i * 2), checked((short)values[i])); break;
                case TensorDType.Int8: bytes[i] = (byte)checked((sbyte)values[i]); break;
                case TensorDType.UInt8: bytes[i] = checked((byte)values[i]); break;
                default: bytes[i] = values[i] != 0 ? (byte)1 : (byte)0; break;
            }
        }
        return new RawTensor(Name, dtype, _shape, bytes);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {DType.TorchName()} {ShapeText}";

    /// <summary>Returns the product of <paramref name="shape"/>, or null when it overflows int64.</summary>
    internal static long? ElementCountOf(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                return null;
            }
            if (dim != 0 && count > long.MaxValue / dim)
            {
                return null;
            }
            count *= dim;
        }
        return count;
    }

    private static long[] CheckedShape(IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var copy = shape.ToArray();
        if (copy.Any(d => d < 0))
        {
            throw new ArgumentException($"shape [{string.Join(", ", copy)}] has a negative dimension", nameof(shape));
        }
        return copy;
    }

    private int CheckedArrayLength(long count) =>
        count <= Array.MaxLength
            ? (int)count
            : throw new SkimException($"tensor '{Name}' {ShapeText} has {count} elements, more than a .NET array holds; copy it in pieces with CopyTo(offset, span)");
}
