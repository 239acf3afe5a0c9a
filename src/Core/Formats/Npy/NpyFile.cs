using Skim.Core.IO;

namespace Skim.Core.Formats.Npy;

/// <summary>
/// Reads and writes whole <c>.npy</c> files (format versions 1.0, 2.0 and 3.0) the way
/// <c>numpy.load</c> and <c>numpy.save</c> do. For arrays too large to hold at once use
/// <see cref="NpyMemoryMap"/> to read and <see cref="NpyWriter"/> to write row blocks.
/// </summary>
public static class NpyFile
{
    /// <summary>Reads the header of <paramref name="path"/> and checks it against the file length.</summary>
    /// <exception cref="SkimFormatException">The file is not a supported .npy file.</exception>
    public static NpyHeader ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        var raw = NpyHeaderCodec.Read(stream, stream.Length, path, null);
        return NpyHeaderCodec.Resolve(raw, stream.Length, path, null);
    }

    /// <summary>Reads the whole array in <paramref name="path"/>.</summary>
    /// <exception cref="SkimFormatException">The file is not a supported .npy file.</exception>
    public static NpyArray Read(string path)
    {
        using var stream = OpenRead(path);
        return ReadArray(stream, stream.Length, path, null);
    }

    /// <summary>
    /// Writes <paramref name="array"/> to <paramref name="path"/> atomically, byte for byte as
    /// <c>numpy.save</c> does; <paramref name="version"/> forces a format version (1, 2 or 3),
    /// otherwise the oldest that holds the header is used.
    /// </summary>
    public static void Write(string path, NpyArray array, int? version = null)
    {
        ArgumentNullException.ThrowIfNull(array);
        AtomicFile.Write(path, stream => WriteArray(stream, array, version));
    }

    internal static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SkimFormatException(path, null, "file not found");
        }
    }

    /// <summary>Reads one .npy (a file or a zip member) of <paramref name="available"/> bytes from <paramref name="stream"/>.</summary>
    internal static NpyArray ReadArray(Stream stream, long available, string path, string? location)
    {
        var raw = NpyHeaderCodec.Read(stream, available, path, location);
        var header = NpyHeaderCodec.Resolve(raw, available, path, location);
        var data = NpyArray.Allocate(header, path, location);
        ReadPayload(stream, data, header.DataLength, path, location);
        if (data is bool[] flags)
        {
            NormaliseBools(flags);
        }
        return new NpyArray(data, raw.Shape);
    }

    /// <summary>Fills <paramref name="data"/> with <paramref name="byteLength"/> bytes, in chunks a span can address.</summary>
    internal static void ReadPayload(Stream stream, Array data, long byteLength, string path, string? location)
    {
        const int Chunk = 1 << 30;
        for (long done = 0; done < byteLength;)
        {
            var n = (int)Math.Min(Chunk, byteLength - done);
            try
            {
                stream.ReadExactly(NpyArray.Bytes(data, done, n));
            }
            catch (EndOfStreamException)
            {
                throw new SkimFormatException(path, location, $"data ends early: expected {byteLength} bytes after the header");
            }
            done += n;
        }
    }

    /// <summary>Writes the header and data of <paramref name="array"/> to <paramref name="stream"/>.</summary>
    internal static void WriteArray(Stream stream, NpyArray array, int? version)
    {
        stream.Write(NpyHeaderCodec.Encode(array.DType.Descr(), array.Header.ShapeSpan, version));
        WritePayload(stream, array.Data, array.Length * array.DType.ItemSize());
    }

    internal static void WritePayload(Stream stream, Array data, long byteLength)
    {
        const int Chunk = 1 << 30;
        for (long done = 0; done < byteLength;)
        {
            var n = (int)Math.Min(Chunk, byteLength - done);
            stream.Write(NpyArray.Bytes(data, done, n));
            done += n;
        }
    }

    /// <summary>numpy stores booleans as 0/1 bytes; any other byte is read as true, as numpy does.</summary>
    internal static void NormaliseBools(Span<bool> flags)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(flags);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] > 1)
            {
                bytes[i] = 1;
            }
        }
    }
}
