using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Skim.Core.Formats.SafeTensors;

/// <summary>
/// Conversions between the floating-point storage types of model weights. Widening (f16/bf16 to
/// f32) is exact; narrowing (f32 to f16/bf16) rounds to nearest, ties to even, as PyTorch does.
/// </summary>
public static class FloatConversions
{
    /// <summary>Widens a bfloat16 bit pattern to float32 (exact: bfloat16 is the top half of a float32).</summary>
    public static float BFloat16ToFloat32(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Narrows a float32 to a bfloat16 bit pattern, rounding to nearest even; NaN stays NaN.</summary>
    public static ushort Float32ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            // Truncating could clear every mantissa bit and turn NaN into infinity; force a quiet NaN.
            return (ushort)((bits >> 16) | 0x0040);
        }
        var roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>Widens a float16 bit pattern to float32 (exact).</summary>
    public static float Float16ToFloat32(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>Narrows a float32 to a float16 bit pattern, rounding to nearest even (IEEE 754).</summary>
    public static ushort Float32ToFloat16(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>
    /// Converts little-endian elements of <paramref name="dtype"/> in <paramref name="source"/> to float32.
    /// Integers convert by value; float64 rounds to nearest.
    /// </summary>
    public static void ToFloat32(TensorDType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(dtype, source, destination.Length);
        switch (dtype)
        {
            case TensorDType.Float32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case TensorDType.Float16:
                var halves = MemoryMarshal.Cast<byte, Half>(source);
                for (var i = 0; i < halves.Length; i++)
                {
                    destination[i] = (float)halves[i];
                }
                break;
            case TensorDType.BFloat16:
                WidenBFloat16(MemoryMarshal.Cast<byte, ushort>(source), MemoryMarshal.Cast<float, uint>(destination));
                break;
            case TensorDType.Float64:
                var doubles = MemoryMarshal.Cast<byte, double>(source);
                for (var i = 0; i < doubles.Length; i++)
                {
                    destination[i] = (float)doubles[i];
                }
                break;
            default:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = ReadInteger(dtype, source, i);
                }
                break;
        }
    }

    /// <summary>Converts little-endian elements of <paramref name="dtype"/> to float64 (exact for every float type).</summary>
    public static void ToFloat64(TensorDType dtype, ReadOnlySpan<byte> source, Span<double> destination)
    {
        CheckLengths(dtype, source, destination.Length);
        if (dtype == TensorDType.Float64)
        {
            MemoryMarshal.Cast<byte, double>(source).CopyTo(destination);
            return;
        }
        if (dtype.IsFloatingPoint())
        {
            // float32 holds f16 and bf16 exactly, so widening through it loses nothing.
            var single = new float[destination.Length];
            ToFloat32(dtype, source, single);
            for (var i = 0; i < single.Length; i++)
            {
                destination[i] = single[i];
            }
            return;
        }
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = ReadInteger(dtype, source, i);
        }
    }

    /// <summary>Converts little-endian integer or bool elements to int64; floating-point types are refused.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="dtype"/> is a floating-point type.</exception>
    public static void ToInt64(TensorDType dtype, ReadOnlySpan<byte> source, Span<long> destination)
    {
        if (dtype.IsFloatingPoint())
        {
            throw new InvalidOperationException($"a {dtype.TorchName()} tensor does not convert to int64 exactly");
        }
        CheckLengths(dtype, source, destination.Length);
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = ReadInteger(dtype, source, i);
        }
    }

    /// <summary>
    /// Encodes float32 values as little-endian elements of a floating-point <paramref name="dtype"/>,
    /// rounding to nearest even when narrowing.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating-point type.</exception>
    public static void FromFloat32(ReadOnlySpan<float> source, TensorDType dtype, Span<byte> destination)
    {
        if (!dtype.IsFloatingPoint())
        {
            throw new ArgumentException($"float32 values cannot be stored as {dtype.TorchName()}", nameof(dtype));
        }
        CheckLengths(dtype, destination, source.Length);
        switch (dtype)
        {
            case TensorDType.Float32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case TensorDType.Float16:
                var halves = MemoryMarshal.Cast<byte, ushort>(destination);
                for (var i = 0; i < source.Length; i++)
                {
                    halves[i] = Float32ToFloat16(source[i]);
                }
                break;
            case TensorDType.BFloat16:
                var brains = MemoryMarshal.Cast<byte, ushort>(destination);
                for (var i = 0; i < source.Length; i++)
                {
                    brains[i] = Float32ToBFloat16(source[i]);
                }
                break;
            default:
                var doubles = MemoryMarshal.Cast<byte, double>(destination);
                for (var i = 0; i < source.Length; i++)
                {
                    doubles[i] = source[i];
                }
                break;
        }
    }

    /// <summary>bfloat16 bits to float32 bits: a zero-extend and shift, vectorised where the hardware allows.</summary>
    private static void WidenBFloat16(ReadOnlySpan<ushort> source, Span<uint> destination)
    {
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= source.Length - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var (lower, upper) = Vector128.Widen(Vector128.Create(source.Slice(i, Vector128<ushort>.Count)));
                Vector128.ShiftLeft(lower, 16).CopyTo(destination[i..]);
                Vector128.ShiftLeft(upper, 16).CopyTo(destination[(i + Vector128<uint>.Count)..]);
            }
        }
        for (; i < source.Length; i++)
        {
            destination[i] = (uint)source[i] << 16;
        }
    }

    private static void CheckLengths(TensorDType dtype, ReadOnlySpan<byte> bytes, int elements)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("weight files are little-endian; big-endian hosts are not supported");
        }
        if (bytes.Length != (long)elements * dtype.ElementSize())
        {
            throw new ArgumentException($"{bytes.Length} bytes do not hold {elements} {dtype.TorchName()} elements");
        }
    }

    private static long ReadInteger(TensorDType dtype, ReadOnlySpan<byte> source, int index) => dtype switch
    {
        TensorDType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(source[(index * 8)..]),
        TensorDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(source[(index * 4)..]),
        TensorDType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(source[(index * 2)..]),
        TensorDType.Int8 => (sbyte)source[index],
        TensorDType.UInt8 => source[index],
        TensorDType.Bool => source[index] != 0 ? 1 : 0,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not an integer dtype"),
    };
}
