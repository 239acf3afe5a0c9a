using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Skim.Core.Formats.Npz;

/// <summary>One member of a zip archive, as its central directory describes it.</summary>
internal sealed record ZipEntry(string Name, int Method, uint Crc, long CompressedSize, long UncompressedSize, long LocalHeaderOffset);

/// <summary>
/// Reads the members of a zip archive (stored or deflated, ZIP64 included) as numpy's <c>.npz</c>
/// files and PyTorch's <c>torch.save</c> checkpoints use it (the latter: stored members under one
/// top-level folder, their data 64-byte aligned by padding in the local headers' extra fields).
/// Skim has its own container code instead of <see cref="ZipArchive"/> so that members can be read
/// concurrently from one handle (positional reads, one member per core), every size is bounded by
/// the file length before it is used, each member's CRC is checked, and each failure names the member.
/// </summary>
internal sealed class ZipReader : IDisposable
{
    private const uint EndOfCentralDirectorySignature = 0x06054b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint CentralEntrySignature = 0x02014b50;
    private const uint LocalHeaderSignature = 0x04034b50;

    /// <summary>DEFLATE cannot expand data by more than this factor; a larger claimed size is a lie.</summary>
    private const long MaxDeflateRatio = 1032;

    private readonly SafeFileHandle _handle;
    private readonly long _length;
    private readonly long _centralDirectoryOffset;
    private readonly Dictionary<string, ZipEntry> _byName = new(StringComparer.Ordinal);

    private ZipReader(string path, SafeFileHandle handle, long length, long centralDirectoryOffset, IReadOnlyList<ZipEntry> entries)
    {
        Path = path;
        _handle = handle;
        _length = length;
        _centralDirectoryOffset = centralDirectoryOffset;
        Entries = entries;
        foreach (var entry in entries)
        {
            // A repeated name resolves to its first member (callers that care look at Entries).
            _byName.TryAdd(entry.Name, entry);
        }
    }

    /// <summary>Gets the archive's path (used in error messages).</summary>
    public string Path { get; }

    /// <summary>Gets the members in central-directory order.</summary>
    public IReadOnlyList<ZipEntry> Entries { get; }

    /// <summary>Opens <paramref name="path"/> and reads its central directory.</summary>
    public static ZipReader Open(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SkimFormatException(path, null, "file not found");
        }
        try
        {
            var length = RandomAccess.GetLength(handle);
            var (cdOffset, entries) = ReadCentralDirectory(path, handle, length);
            return new ZipReader(path, handle, length, cdOffset, entries);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Gets the first member called <paramref name="name"/>, or null (a checkpoint can hold thousands: a lookup, not a scan).</summary>
    public ZipEntry? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// Opens the uncompressed bytes of <paramref name="entry"/>. The stream checks the CRC once all
    /// <see cref="ZipEntry.UncompressedSize"/> bytes have been read. Safe to call from several threads.
    /// </summary>
    public Stream OpenEntry(ZipEntry entry)
    {
        Span<byte> local = stackalloc byte[30];
        if (entry.LocalHeaderOffset > _length - 30 || RandomAccess.Read(_handle, local, entry.LocalHeaderOffset) != 30
            || BinaryPrimitives.ReadUInt32LittleEndian(local) != LocalHeaderSignature)
        {
            throw Error(entry.Name, $"no local file header at offset {entry.LocalHeaderOffset}");
        }
        var dataOffset = entry.LocalHeaderOffset + 30 + BinaryPrimitives.ReadUInt16LittleEndian(local[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(local[28..]);
        if (dataOffset > _length || entry.CompressedSize > _length - dataOffset)
        {
            throw Error(entry.Name, $"member data ({entry.CompressedSize} bytes at offset {dataOffset}) runs past the end of the file ({_length} bytes); the file is truncated");
        }
        // A buffer no larger than the member: a checkpoint of 20,000 small storages would otherwise
        // allocate 20 GB of 1 MB buffers (measured: 15 s instead of about 1 s to load its 80 MB).
        var bufferSize = (int)Math.Clamp(entry.CompressedSize, 16, 1 << 20);
        Stream raw = new BufferedStream(new RangeStream(_handle, dataOffset, entry.CompressedSize), bufferSize);
        if (entry.Method == 8)
        {
            raw = new DeflateStream(raw, CompressionMode.Decompress, leaveOpen: false);
        }
        return new CheckedEntryStream(raw, entry, this);
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();

    internal SkimFormatException Error(string? member, string problem) => new(Path, member, problem);

    private static (long CdOffset, List<ZipEntry> Entries) ReadCentralDirectory(string path, SafeFileHandle handle, long length)
    {
        // The end-of-central-directory record is 22 bytes plus a comment of at most 65,535 bytes.
        var tailLength = (int)Math.Min(length, 22 + ushort.MaxValue);
        var tail = new byte[tailLength];
        RandomAccess.Read(handle, tail, length - tailLength);
        var eocd = -1;
        for (var i = tailLength - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EndOfCentralDirectorySignature
                && i + 22 + BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(i + 20)) <= tailLength)
            {
                eocd = i;
                break;
            }
        }
        if (eocd < 0)
        {
            throw new SkimFormatException(path, null, $"not a zip archive, or a truncated one: no end-of-central-directory record in its last {tailLength} bytes");
        }
        var eocdPosition = length - tailLength + eocd;
        var record = tail.AsSpan(eocd);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(record[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(record[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(record[16..]);
        var cdEnd = eocdPosition;
        if (eocdPosition >= 20)
        {
            Span<byte> locator = stackalloc byte[20];
            RandomAccess.Read(handle, locator, eocdPosition - 20);
            if (BinaryPrimitives.ReadUInt32LittleEndian(locator) == Zip64LocatorSignature)
            {
                var zip64Position = BinaryPrimitives.ReadInt64LittleEndian(locator[8..]);
                Span<byte> zip64 = stackalloc byte[56];
                if (zip64Position < 0 || zip64Position > eocdPosition - 20 - 56
                    || RandomAccess.Read(handle, zip64, zip64Position) != 56
                    || BinaryPrimitives.ReadUInt32LittleEndian(zip64) != Zip64EndSignature)
                {
                    throw new SkimFormatException(path, null, $"ZIP64 end-of-central-directory locator points to offset {zip64Position}, where no ZIP64 record is");
                }
                count = BinaryPrimitives.ReadInt64LittleEndian(zip64[32..]);
                cdSize = BinaryPrimitives.ReadInt64LittleEndian(zip64[40..]);
                cdOffset = BinaryPrimitives.ReadInt64LittleEndian(zip64[48..]);
                cdEnd = zip64Position;
            }
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > cdEnd || cdSize > cdEnd - cdOffset)
        {
            throw new SkimFormatException(path, null, $"central directory ({cdSize} bytes at offset {cdOffset}) lies outside the file ({length} bytes); the file is truncated or not a zip archive");
        }
        if (count < 0 || count > cdSize / 46)
        {
            throw new SkimFormatException(path, null, $"central directory claims {count} members but its {cdSize} bytes hold at most {cdSize / 46}");
        }
        var cd = new byte[cdSize];
        RandomAccess.Read(handle, cd, cdOffset);
        var entries = new List<ZipEntry>((int)count);
        var p = 0;
        for (var i = 0; i < count; i++)
        {
            var e = cd.AsSpan(p);
            if (e.Length < 46 || BinaryPrimitives.ReadUInt32LittleEndian(e) != CentralEntrySignature)
            {
                throw new SkimFormatException(path, $"central directory entry {i}", "bad signature; the central directory is corrupt");
            }
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(e[8..]);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
            long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(e[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(e[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(e[32..]);
            long offset = BinaryPrimitives.ReadUInt32LittleEndian(e[42..]);
            if (46 + nameLength + extraLength + commentLength > e.Length)
            {
                throw new SkimFormatException(path, $"central directory entry {i}", "entry runs past the end of the central directory");
            }
            var name = ((flags & 0x800) != 0 ? Encoding.UTF8 : Encoding.Latin1).GetString(e.Slice(46, nameLength));
            var extra = e.Slice(46 + nameLength, extraLength);
            while (extra.Length >= 4)
            {
                int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
                int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
                if (size > extra.Length - 4)
                {
                    break;
                }
                if (id == 1)
                {
                    // ZIP64 extra: only the fields whose 32-bit slots hold 0xFFFFFFFF are present, in this order.
                    ReadOnlySpan<byte> field = extra.Slice(4, size);
                    if (!TakeZip64(ref field, ref uncompressed) || !TakeZip64(ref field, ref compressed) || !TakeZip64(ref field, ref offset))
                    {
                        throw new SkimFormatException(path, name, "ZIP64 extra field is shorter than the sizes it must hold");
                    }
                }
                extra = extra[(4 + size)..];
            }
            if ((flags & 1) != 0)
            {
                throw new SkimFormatException(path, name, "member is encrypted; encrypted archives are not supported");
            }
            if (method is not (0 or 8))
            {
                throw new SkimFormatException(path, name, $"compression method {method} is not supported, expected 0 (stored) or 8 (deflate)");
            }
            if (compressed < 0 || uncompressed < 0 || offset < 0 || offset > cdOffset || compressed > cdOffset - offset)
            {
                throw new SkimFormatException(path, name, $"member ({compressed} bytes at offset {offset}) lies outside the archive data ({cdOffset} bytes)");
            }
            if (method == 0 ? uncompressed != compressed : uncompressed > (compressed * MaxDeflateRatio) + 1024)
            {
                throw new SkimFormatException(path, name, $"uncompressed size {uncompressed} is impossible for {compressed} {(method == 0 ? "stored" : "deflated")} bytes");
            }
            entries.Add(new ZipEntry(name, method, crc, compressed, uncompressed, offset));
            p += 46 + nameLength + extraLength + commentLength;
        }
        return (cdOffset, entries);
    }

    private static bool TakeZip64(ref ReadOnlySpan<byte> field, ref long value)
    {
        if (value != uint.MaxValue)
        {
            return true;
        }
        if (field.Length < 8)
        {
            return false;
        }
        value = BinaryPrimitives.ReadInt64LittleEndian(field);
        field = field[8..];
        return true;
    }

    /// <summary>A read-only window of the file, read with positional reads so several can run at once.</summary>
    private sealed class RangeStream(SafeFileHandle handle, long start, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            if (n <= 0)
            {
                return 0;
            }
            var read = RandomAccess.Read(handle, buffer[..n], start + _position);
            _position += read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Counts the uncompressed bytes, checks the CRC at the end and names the member in errors.</summary>
    private sealed class CheckedEntryStream(Stream inner, ZipEntry entry, ZipReader reader) : Stream
    {
        private long _position;
        private readonly System.IO.Hashing.Crc32 _crc = new();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => entry.UncompressedSize;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var want = (int)Math.Min(buffer.Length, entry.UncompressedSize - _position);
            if (want <= 0)
            {
                return 0;
            }
            int n;
            try
            {
                n = inner.Read(buffer[..want]);
            }
            catch (InvalidDataException e)
            {
                throw reader.Error(entry.Name, $"corrupt deflate data: {e.Message}");
            }
            if (n == 0)
            {
                throw reader.Error(entry.Name, $"member data ends after {_position} of {entry.UncompressedSize} bytes; the file is truncated or corrupt");
            }
            _crc.Append(buffer[..n]);
            _position += n;
            if (_position == entry.UncompressedSize && _crc.GetCurrentHashAsUInt32() != entry.Crc)
            {
                throw reader.Error(entry.Name, $"CRC-32 mismatch: computed {_crc.GetCurrentHashAsUInt32():x8}, the archive says {entry.Crc:x8}; the file is corrupt");
            }
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
