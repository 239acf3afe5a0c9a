using Microsoft.Win32.SafeHandles;

namespace Skim.Core.Formats.SafeTensors;

/// <summary>
/// Where the bytes of a <see cref="RawTensor"/> live: managed memory, or a range of an open file
/// that is read only when asked for (so opening a multi-gigabyte checkpoint costs nothing).
/// </summary>
internal abstract class TensorData
{
    public abstract long Length { get; }

    /// <summary>Copies <paramref name="destination"/>.Length bytes starting at <paramref name="offset"/>.</summary>
    public abstract void CopyTo(long offset, Span<byte> destination);

    /// <summary>Returns the bytes without copying when they already live in managed memory.</summary>
    public abstract bool TryGetMemory(out ReadOnlyMemory<byte> memory);
}

/// <summary>Tensor bytes held in managed memory (written tensors, PyTorch storages).</summary>
internal sealed class MemoryTensorData(ReadOnlyMemory<byte> memory) : TensorData
{
    public override long Length => memory.Length;

    public override void CopyTo(long offset, Span<byte> destination) =>
        memory.Span.Slice(checked((int)offset), destination.Length).CopyTo(destination);

    public override bool TryGetMemory(out ReadOnlyMemory<byte> result)
    {
        result = memory;
        return true;
    }
}

/// <summary>Tensor bytes in a range of a file owned by <see cref="WeightFile"/>, read on demand.</summary>
internal sealed class FileTensorData(WeightFile file, long start, long length) : TensorData
{
    public override long Length => length;

    public override void CopyTo(long offset, Span<byte> destination)
    {
        if (offset < 0 || destination.Length > length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{destination.Length} is outside the tensor's {length} bytes");
        }
        file.Read(start + offset, destination);
    }

    public override bool TryGetMemory(out ReadOnlyMemory<byte> memory)
    {
        memory = default;
        return false;
    }
}

/// <summary>
/// An open weight file read with positional reads (pread). Tensors are only ever handed out as
/// copies, and copying out of a .NET memory map measured 2 to 3 times slower than positional reads
/// here (both served from the page cache), so the file is held open rather than mapped; opening
/// still reads nothing but the header, and a read after dispose is an <see cref="ObjectDisposedException"/>.
/// </summary>
internal sealed class WeightFile : IDisposable
{
    private readonly SafeFileHandle _handle;

    public WeightFile(string path, long length)
    {
        Path = path;
        Length = length;
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    public string Path { get; }

    public long Length { get; }

    public void Read(long position, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        while (!destination.IsEmpty)
        {
            var read = RandomAccess.Read(_handle, destination, position);
            if (read == 0)
            {
                throw new SkimFormatException(Path, null, $"file ended at byte {position} while reading tensor data (it shrank after it was opened)");
            }
            destination = destination[read..];
            position += read;
        }
    }

    public void Dispose() => _handle.Dispose();
}
