using Skim.Core.Formats.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.Models.Weights;

/// <summary>Converts Skim.Core's library-neutral <see cref="RawTensor"/> to TorchSharp tensors and back.</summary>
public static class TensorConversion
{
    // TorchSharp's byte streaming copies in slices of this size, so tensors above 2 GB and
    // memory-mapped tensors move without one large intermediate array and without unsafe code.
    private const int ChunkBytes = 4 << 20;

    /// <summary>Gets the TorchSharp scalar type of a weight-file dtype.</summary>
    public static ScalarType ToScalarType(this TensorDType dtype) => dtype switch
    {
        TensorDType.Float32 => ScalarType.Float32,
        TensorDType.Float16 => ScalarType.Float16,
        TensorDType.BFloat16 => ScalarType.BFloat16,
        TensorDType.Float64 => ScalarType.Float64,
        TensorDType.Int64 => ScalarType.Int64,
        TensorDType.Int32 => ScalarType.Int32,
        TensorDType.Int16 => ScalarType.Int16,
        TensorDType.Int8 => ScalarType.Int8,
        TensorDType.UInt8 => ScalarType.Byte,
        TensorDType.Bool => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Gets the weight-file dtype of a TorchSharp scalar type.</summary>
    /// <exception cref="NotSupportedException">The type has no safetensors spelling (complex, quantised).</exception>
    public static TensorDType ToTensorDType(this ScalarType type) => type switch
    {
        ScalarType.Float32 => TensorDType.Float32,
        ScalarType.Float16 => TensorDType.Float16,
        ScalarType.BFloat16 => TensorDType.BFloat16,
        ScalarType.Float64 => TensorDType.Float64,
        ScalarType.Int64 => TensorDType.Int64,
        ScalarType.Int32 => TensorDType.Int32,
        ScalarType.Int16 => TensorDType.Int16,
        ScalarType.Int8 => TensorDType.Int8,
        ScalarType.Byte => TensorDType.UInt8,
        ScalarType.Bool => TensorDType.Bool,
        _ => throw new NotSupportedException($"dtype {type} cannot be stored in a weight file"),
    };

    /// <summary>
    /// Creates a TorchSharp tensor with <paramref name="raw"/>'s values, converted to
    /// <paramref name="dtype"/> (f16/bf16 → f32 is exact) and placed on <paramref name="device"/>.
    /// </summary>
    /// <param name="raw">The stored tensor.</param>
    /// <param name="dtype">The wanted dtype, or null to keep the stored one.</param>
    /// <param name="device">The wanted device, or null for the CPU.</param>
    public static Tensor ToTorch(RawTensor raw, ScalarType? dtype = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var stored = raw.DType.ToScalarType();
        var cpuTensor = empty(raw.Shape.ToArray(), dtype: stored, device: CPU);
        try
        {
            if (raw.ByteLength > 0)
            {
                using var stream = new RawTensorStream(raw);
                cpuTensor.ReadBytesFromStream(stream, ChunkBytes);
            }
            var targetType = dtype ?? stored;
            var targetDevice = device ?? CPU;
            if (targetType == stored && targetDevice.type == DeviceType.CPU)
            {
                return cpuTensor;
            }
            using (cpuTensor)
            {
                return cpuTensor.to(targetType, targetDevice);
            }
        }
        catch
        {
            cpuTensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies <paramref name="tensor"/> (any device) into a managed <see cref="RawTensor"/> called
    /// <paramref name="name"/>, converted to <paramref name="dtype"/> when given.
    /// </summary>
    public static RawTensor ToRaw(string name, Tensor tensor, TensorDType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var targetType = (dtype ?? tensor.dtype.ToTensorDType()).ToScalarType();
        using var scope = NewDisposeScope();
        var cpu = tensor.detach().to(targetType, CPU).contiguous();
        var bytes = new MemoryStream(checked((int)(cpu.NumberOfElements * cpu.ElementSize)));
        if (cpu.NumberOfElements > 0)
        {
            cpu.WriteBytesToStream(bytes, ChunkBytes);
        }
        return new RawTensor(name, targetType.ToTensorDType(), cpu.shape, bytes.GetBuffer().AsMemory(0, (int)bytes.Length));
    }
}

/// <summary>A read-only stream over a <see cref="RawTensor"/>'s bytes (which may live in a memory-mapped file).</summary>
internal sealed class RawTensorStream(RawTensor raw) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => raw.ByteLength;

    public override long Position
    {
        get => _position;
        set => _position = Math.Clamp(value, 0, raw.ByteLength);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var count = (int)Math.Min(buffer.Length, raw.ByteLength - _position);
        if (count <= 0)
        {
            return 0;
        }
        raw.CopyTo(_position, buffer[..count]);
        _position += count;
        return count;
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => raw.ByteLength + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
