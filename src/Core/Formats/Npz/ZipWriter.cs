using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Skim.Core.Formats.Npz;

/// <summary>A member compressed ahead of time (possibly on another thread), ready to be appended.</summary>
internal sealed class PreparedZipMember
{
    internal PreparedZipMember(string name, int method, uint crc, long uncompressedSize, List<byte[]> chunks, long compressedSize)
    {
        Name = name;
        Method = method;
        Crc = crc;
        UncompressedSize = uncompressedSize;
        Chunks = chunks;
        CompressedSize = compressedSize;
    }

    public string Name { get; }

    public int Method { get; }

    public uint Crc { get; }

    public long UncompressedSize { get; }

    public long CompressedSize { get; }

    public List<byte[]> Chunks { get; }
}

/// <summary>
/// Writes a zip archive laid out as numpy's <c>savez</c> writes it: each local header carries a
/// ZIP64 extra field (so a member may exceed 4 GiB without knowing its compressed size up front),
/// timestamps are 1980-01-01, and the central directory and end record switch to ZIP64 only when a
/// size, offset or count needs it. Own code rather than <see cref="ZipArchive"/> because members must
/// be compressed on several cores at once and appended raw, which ZipArchive cannot do.
/// </summary>
internal sealed class ZipWriter
{
    /// <summary>Above this a size or offset goes into ZIP64 fields (Python's zipfile uses the same limit).</summary>
    private const long Zip64Limit = int.MaxValue;

    private const ushort DosDate1980 = (1 << 5) | 1;
    private const int ChunkSize = 1 << 20;

    private readonly Stream _output;
    private readonly List<(string Name, int Method, uint Crc, long Compressed, long Uncompressed, long Offset)> _written = [];

    /// <summary>Starts an archive on <paramref name="output"/>, which must be seekable (a file).</summary>
    public ZipWriter(Stream output)
    {
        _output = output;
    }

    /// <summary>Gets or sets whether the central directory and end record use ZIP64 even when nothing needs it (tests).</summary>
    public bool ForceZip64 { get; set; }

    /// <summary>Gets the DEFLATE level (zlib's 0..9); 6 is zlib's default, which Python's zipfile uses.</summary>
    public static int DeflateLevel => 6;

    /// <summary>Compresses a member into memory; safe to run on any thread.</summary>
    public static PreparedZipMember Prepare(string name, bool deflate, Action<Stream> writeContent)
    {
        var buffer = new ChunkStream();
        var (crc, size) = Encode(buffer, deflate, writeContent);
        return new PreparedZipMember(name, deflate ? 8 : 0, crc, size, buffer.Chunks, buffer.Length);
    }

    /// <summary>Streams a member straight to the output, then patches its local header with CRC and sizes.</summary>
    public void Add(string name, bool deflate, Action<Stream> writeContent)
    {
        var offset = _output.Position;
        var nameBytes = Encoding.UTF8.GetBytes(name);
        WriteLocalHeader(nameBytes, deflate ? 8 : 0, 0, 0, 0);
        var dataStart = _output.Position;
        var (crc, size) = Encode(_output, deflate, writeContent);
        var end = _output.Position;
        _output.Position = offset;
        WriteLocalHeader(nameBytes, deflate ? 8 : 0, crc, end - dataStart, size);
        _output.Position = end;
        _written.Add((name, deflate ? 8 : 0, crc, end - dataStart, size, offset));
    }

    /// <summary>Appends a member prepared by <see cref="Prepare"/>.</summary>
    public void Add(PreparedZipMember member)
    {
        var offset = _output.Position;
        WriteLocalHeader(Encoding.UTF8.GetBytes(member.Name), member.Method, member.Crc, member.CompressedSize, member.UncompressedSize);
        var left = member.CompressedSize;
        foreach (var chunk in member.Chunks)
        {
            var n = (int)Math.Min(chunk.Length, left);
            _output.Write(chunk, 0, n);
            left -= n;
        }
        _written.Add((member.Name, member.Method, member.Crc, member.CompressedSize, member.UncompressedSize, offset));
    }

    /// <summary>Writes the central directory and the end records.</summary>
    public void Finish()
    {
        var cdStart = _output.Position;
        var entry = new byte[46 + 28];
        foreach (var (name, method, crc, compressed, uncompressed, offset) in _written)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var bigUncompressed = ForceZip64 || uncompressed > Zip64Limit;
            var bigCompressed = ForceZip64 || compressed > Zip64Limit;
            var bigOffset = ForceZip64 || offset > Zip64Limit;
            var extraLength = (bigUncompressed ? 8 : 0) + (bigCompressed ? 8 : 0) + (bigOffset ? 8 : 0);
            var zip64 = extraLength > 0;
            var e = entry.AsSpan();
            e.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(e, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(e[4..], (ushort)((3 << 8) | (zip64 ? 45 : 20)));
            BinaryPrimitives.WriteUInt16LittleEndian(e[6..], (ushort)(zip64 ? 45 : 20));
            BinaryPrimitives.WriteUInt16LittleEndian(e[8..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)method);
            BinaryPrimitives.WriteUInt16LittleEndian(e[12..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(e[14..], DosDate1980);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(e[20..], bigCompressed ? uint.MaxValue : (uint)compressed);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], bigUncompressed ? uint.MaxValue : (uint)uncompressed);
            BinaryPrimitives.WriteUInt16LittleEndian(e[28..], (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(e[30..], (ushort)(zip64 ? 4 + extraLength : 0));
            // External attributes: a regular file readable and writable by its owner (0600), as numpy's files have.
            BinaryPrimitives.WriteUInt32LittleEndian(e[38..], 0x8180u << 16);
            BinaryPrimitives.WriteUInt32LittleEndian(e[42..], bigOffset ? uint.MaxValue : (uint)offset);
            _output.Write(e[..46]);
            _output.Write(nameBytes);
            if (zip64)
            {
                var x = e[46..];
                BinaryPrimitives.WriteUInt16LittleEndian(x, 1);
                BinaryPrimitives.WriteUInt16LittleEndian(x[2..], (ushort)extraLength);
                var p = 4;
                if (bigUncompressed)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(x[p..], uncompressed);
                    p += 8;
                }
                if (bigCompressed)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(x[p..], compressed);
                    p += 8;
                }
                if (bigOffset)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(x[p..], offset);
                    p += 8;
                }
                _output.Write(x[..p]);
            }
        }
        var cdEnd = _output.Position;
        var cdSize = cdEnd - cdStart;
        var count = _written.Count;
        var needZip64 = ForceZip64 || count > ushort.MaxValue || cdSize > Zip64Limit || cdStart > Zip64Limit;
        Span<byte> end = stackalloc byte[56 + 20 + 22];
        end.Clear();
        var q = 0;
        if (needZip64)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06064b50);
            BinaryPrimitives.WriteInt64LittleEndian(end[4..], 44);
            BinaryPrimitives.WriteUInt16LittleEndian(end[12..], 45);
            BinaryPrimitives.WriteUInt16LittleEndian(end[14..], 45);
            BinaryPrimitives.WriteInt64LittleEndian(end[24..], count);
            BinaryPrimitives.WriteInt64LittleEndian(end[32..], count);
            BinaryPrimitives.WriteInt64LittleEndian(end[40..], cdSize);
            BinaryPrimitives.WriteInt64LittleEndian(end[48..], cdStart);
            BinaryPrimitives.WriteUInt32LittleEndian(end[56..], 0x07064b50);
            BinaryPrimitives.WriteInt64LittleEndian(end[64..], cdEnd);
            BinaryPrimitives.WriteUInt32LittleEndian(end[72..], 1);
            q = 76;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(end[q..], 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end[(q + 8)..], (ushort)Math.Min(count, ushort.MaxValue));
        BinaryPrimitives.WriteUInt16LittleEndian(end[(q + 10)..], (ushort)Math.Min(count, ushort.MaxValue));
        BinaryPrimitives.WriteUInt32LittleEndian(end[(q + 12)..], needZip64 ? uint.MaxValue : (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(end[(q + 16)..], needZip64 ? uint.MaxValue : (uint)cdStart);
        _output.Write(end[..(q + 22)]);
    }

    private void WriteLocalHeader(byte[] name, int method, uint crc, long compressed, long uncompressed)
    {
        Span<byte> h = stackalloc byte[30 + 20];
        h.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 45);
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], (ushort)method);
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], DosDate1980);
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], uint.MaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], uint.MaxValue);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)name.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[28..], 20);
        BinaryPrimitives.WriteUInt16LittleEndian(h[30..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(h[32..], 16);
        BinaryPrimitives.WriteInt64LittleEndian(h[34..], uncompressed);
        BinaryPrimitives.WriteInt64LittleEndian(h[42..], compressed);
        _output.Write(h[..30]);
        _output.Write(name);
        _output.Write(h[30..]);
    }

    private static (uint Crc, long Size) Encode(Stream destination, bool deflate, Action<Stream> writeContent)
    {
        CrcStream counter;
        if (deflate)
        {
            using var compressor = new DeflateStream(destination, new ZLibCompressionOptions { CompressionLevel = DeflateLevel }, leaveOpen: true);
            counter = new CrcStream(compressor);
            writeContent(counter);
        }
        else
        {
            counter = new CrcStream(destination);
            writeContent(counter);
        }
        return (counter.Crc, counter.Length);
    }

    /// <summary>Passes writes through while computing their CRC-32 and length.</summary>
    private sealed class CrcStream(Stream inner) : Stream
    {
        private long _length;

        private readonly System.IO.Hashing.Crc32 _crc = new();

        public uint Crc => _crc.GetCurrentHashAsUInt32();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _crc.Append(buffer);
            _length += buffer.Length;
            inner.Write(buffer);
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>An append-only in-memory stream of 1 MiB chunks (no single array limits its size).</summary>
    private sealed class ChunkStream : Stream
    {
        private int _used = ChunkSize;
        private long _length;

        public List<byte[]> Chunks { get; } = [];

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (!buffer.IsEmpty)
            {
                if (_used == ChunkSize)
                {
                    Chunks.Add(new byte[ChunkSize]);
                    _used = 0;
                }
                var n = Math.Min(buffer.Length, ChunkSize - _used);
                buffer[..n].CopyTo(Chunks[^1].AsSpan(_used));
                _used += n;
                _length += n;
                buffer = buffer[n..];
            }
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
