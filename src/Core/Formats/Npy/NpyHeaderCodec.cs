using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Skim.Core.Formats.Npy;

/// <summary>A header as written, before its descriptor is mapped to a <see cref="NpyDType"/>.</summary>
internal readonly record struct NpyRawHeader(string Descr, bool FortranOrder, long[] Shape, int Version, int DataOffset);

/// <summary>
/// Encodes and decodes the <c>.npy</c> preamble and header dict exactly as numpy's <c>format.py</c> does.
/// The dict literal is parsed strictly (only the three keys numpy writes, Python literal syntax),
/// never evaluated, and its length is bounded before anything is allocated from it.
/// </summary>
internal static class NpyHeaderCodec
{
    /// <summary>The longest header accepted; numpy's own safety limit is 10,000 characters.</summary>
    internal const int MaxHeaderLength = 1 << 16;

    /// <summary>numpy pads preamble + header to a multiple of this, so the data is aligned.</summary>
    private const int ArrayAlign = 64;

    /// <summary>numpy leaves room for the first dimension to grow to this many digits.</summary>
    private const int GrowthAxisMaxDigits = 21;

    private const int MaxRank = 64;

    private static readonly byte[] s_magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Formats a shape as Python's <c>repr</c> of a tuple.</summary>
    internal static string FormatShape(ReadOnlySpan<long> shape) => shape.Length switch
    {
        0 => "()",
        1 => $"({shape[0].ToString(CultureInfo.InvariantCulture)},)",
        _ => "(" + string.Join(", ", shape.ToArray().Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
    };

    /// <summary>
    /// Builds preamble + header bytes as <c>numpy.lib.format.write_array_header</c> does, choosing the
    /// oldest version that can hold the header unless <paramref name="version"/> forces one.
    /// </summary>
    internal static byte[] Encode(string descr, ReadOnlySpan<long> shape, int? version)
    {
        var dict = new StringBuilder();
        dict.Append("{'descr': '").Append(descr).Append("', 'fortran_order': False, 'shape': ").Append(FormatShape(shape)).Append(", }");
        if (shape.Length > 0)
        {
            dict.Append(' ', Math.Max(0, GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length));
        }
        var text = dict.ToString();
        var chosen = version ?? (Wrap(text, 1) is not null ? 1 : 2);
        if (chosen is < 1 or > 3)
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "npy format version must be 1, 2 or 3");
        }
        return Wrap(text, chosen) ?? throw new ArgumentException($"header of {text.Length} characters does not fit an npy v{chosen} preamble", nameof(version));
    }

    private static byte[]? Wrap(string text, int version)
    {
        var lengthSize = version == 1 ? 2 : 4;
        var encoding = version == 3 ? Encoding.UTF8 : Encoding.Latin1;
        var body = encoding.GetBytes(text);
        var prefix = s_magic.Length + 2 + lengthSize;
        var hlen = body.Length + 1;
        var pad = ArrayAlign - ((prefix + hlen) % ArrayAlign);
        if (pad == ArrayAlign)
        {
            pad = 0;
        }
        var headerLength = hlen + pad;
        if (version == 1 && headerLength > ushort.MaxValue)
        {
            return null;
        }
        var bytes = new byte[prefix + headerLength];
        s_magic.CopyTo(bytes, 0);
        bytes[6] = (byte)version;
        bytes[7] = 0;
        if (lengthSize == 2)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerLength);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)headerLength);
        }
        body.CopyTo(bytes, prefix);
        bytes.AsSpan(prefix + body.Length, pad).Fill((byte)' ');
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>
    /// Reads and parses the preamble and header from <paramref name="stream"/>, which holds
    /// <paramref name="available"/> bytes of .npy data in all. Leaves the stream at the data.
    /// </summary>
    internal static NpyRawHeader Read(Stream stream, long available, string path, string? location)
    {
        Span<byte> preamble = stackalloc byte[12];
        if (available < 10)
        {
            throw Error(path, location, $"too short for an .npy preamble: {available} bytes, expected at least 10");
        }
        ReadExactly(stream, preamble[..8], path, location);
        if (!preamble[..6].SequenceEqual(s_magic))
        {
            throw Error(path, location, $"not an .npy file: magic bytes are {Convert.ToHexString(preamble[..6])}, expected 934E554D5059 (\\x93NUMPY)");
        }
        int major = preamble[6], minor = preamble[7];
        if (major is < 1 or > 3 || minor != 0)
        {
            throw Error(path, location, $"unsupported .npy format version {major}.{minor}, expected 1.0, 2.0 or 3.0");
        }
        var lengthSize = major == 1 ? 2 : 4;
        if (available < 8 + lengthSize)
        {
            throw Error(path, location, $"too short for an .npy v{major} preamble: {available} bytes");
        }
        ReadExactly(stream, preamble.Slice(8, lengthSize), path, location);
        long headerLength = lengthSize == 2
            ? BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..])
            : BinaryPrimitives.ReadUInt32LittleEndian(preamble[8..]);
        var prefix = 8 + lengthSize;
        if (headerLength > available - prefix)
        {
            throw Error(path, location, $"header length {headerLength} runs past the end of the data ({available - prefix} bytes after the preamble)");
        }
        if (headerLength > MaxHeaderLength)
        {
            throw Error(path, location, $"header length {headerLength} exceeds the {MaxHeaderLength} bytes Skim accepts");
        }
        var header = new byte[headerLength];
        ReadExactly(stream, header, path, location);
        string text;
        try
        {
            text = major == 3
                ? new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header)
                : Encoding.Latin1.GetString(header);
        }
        catch (DecoderFallbackException)
        {
            throw Error(path, location, "header is not valid UTF-8");
        }
        var (descr, fortran, shape) = new DictParser(text, path, location).Parse();
        return new NpyRawHeader(descr, fortran, shape, major, prefix + (int)headerLength);
    }

    /// <summary>
    /// Maps a raw header onto a supported dtype and checks that the data length is exactly what the
    /// shape announces (<paramref name="available"/> is the total length of the .npy bytes).
    /// </summary>
    internal static NpyHeader Resolve(NpyRawHeader raw, long available, string path, string? location)
    {
        if (raw.FortranOrder)
        {
            throw Error(path, location, $"Fortran-order array (fortran_order: True) is not supported; save it in C order (numpy.ascontiguousarray)");
        }
        var dtype = NpyDTypeExtensions.FromDescr(raw.Descr)
            ?? throw Error(path, location, $"unsupported dtype '{raw.Descr}', expected one of <f2 <f4 <f8 <i4 <i8 |u1 |b1 (little-endian)");
        var count = NpyHeader.CountElements(raw.Shape);
        var dataLength = available - raw.DataOffset;
        if (count is null || count.Value > dataLength / dtype.ItemSize() || count.Value * dtype.ItemSize() != dataLength)
        {
            throw Error(path, location, $"shape {FormatShape(raw.Shape)} of {raw.Descr} needs {Describe(count, dtype.ItemSize())} of data but {dataLength} bytes follow the header");
        }
        return new NpyHeader(dtype, raw.Shape) { Version = raw.Version, DataOffset = raw.DataOffset };
    }

    private static string Describe(long? count, int itemSize)
    {
        if (count is null)
        {
            return "more than 2^63 bytes";
        }
        var bytes = (decimal)count.Value * itemSize;
        return $"{bytes.ToString(CultureInfo.InvariantCulture)} bytes";
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path, string? location)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw Error(path, location, "file ends inside the .npy header");
        }
    }

    internal static SkimFormatException Error(string path, string? location, string problem) =>
        new(path, location, problem);

    /// <summary>A strict parser for the Python dict literal numpy writes; nothing is evaluated.</summary>
    private sealed class DictParser(string text, string path, string? location)
    {
        private readonly string _text = text;
        private int _pos;

        public (string Descr, bool Fortran, long[] Shape) Parse()
        {
            string? descr = null;
            bool? fortran = null;
            long[]? shape = null;
            Expect('{');
            while (true)
            {
                SkipSpace();
                if (Peek() == '}')
                {
                    _pos++;
                    break;
                }
                var key = ParseString();
                Expect(':');
                switch (key)
                {
                    case "descr" when descr is null:
                        SkipSpace();
                        if (Peek() is not ('\'' or '"'))
                        {
                            throw Fail("unsupported dtype: 'descr' is not a simple type string (structured dtypes are not supported)");
                        }
                        descr = ParseString();
                        break;
                    case "fortran_order" when fortran is null:
                        fortran = ParseBool();
                        break;
                    case "shape" when shape is null:
                        shape = ParseShape();
                        break;
                    case "descr" or "fortran_order" or "shape":
                        throw Fail($"key '{key}' appears twice");
                    default:
                        throw Fail($"unexpected key '{key}', expected only 'descr', 'fortran_order' and 'shape'");
                }
                SkipSpace();
                if (Peek() == ',')
                {
                    _pos++;
                    continue;
                }
                Expect('}');
                break;
            }
            for (; _pos < _text.Length; _pos++)
            {
                if (_text[_pos] is not (' ' or '\n' or '\t' or '\r' or '\0'))
                {
                    throw Fail($"unexpected '{_text[_pos]}' after the closing brace");
                }
            }
            if (descr is null || fortran is null || shape is null)
            {
                var missing = new[] { descr is null ? "descr" : null, fortran is null ? "fortran_order" : null, shape is null ? "shape" : null };
                throw Fail($"missing key {string.Join(", ", missing.Where(m => m is not null).Select(m => $"'{m}'"))}");
            }
            return (descr, fortran.Value, shape);
        }

        private char Peek() => _pos < _text.Length ? _text[_pos] : '\uffff';

        private void SkipSpace()
        {
            while (_pos < _text.Length && _text[_pos] is ' ' or '\t' or '\n' or '\r')
            {
                _pos++;
            }
        }

        private void Expect(char c)
        {
            SkipSpace();
            if (Peek() != c)
            {
                throw Fail($"expected '{c}' at column {_pos + 1}, found {Found()}");
            }
            _pos++;
        }

        private string Found() => _pos < _text.Length ? $"'{_text[_pos]}'" : "end of header";

        private string ParseString()
        {
            SkipSpace();
            var quote = Peek();
            if (quote is not ('\'' or '"'))
            {
                throw Fail($"expected a quoted string at column {_pos + 1}, found {Found()}");
            }
            var end = _text.IndexOf(quote, _pos + 1);
            if (end < 0)
            {
                throw Fail("unterminated string");
            }
            var value = _text[(_pos + 1)..end];
            if (value.Contains('\\', StringComparison.Ordinal))
            {
                throw Fail("escape sequences are not allowed in header strings");
            }
            _pos = end + 1;
            return value;
        }

        private bool ParseBool()
        {
            SkipSpace();
            if (string.CompareOrdinal(_text, _pos, "True", 0, 4) == 0)
            {
                _pos += 4;
                return true;
            }
            if (string.CompareOrdinal(_text, _pos, "False", 0, 5) == 0)
            {
                _pos += 5;
                return false;
            }
            throw Fail($"'fortran_order' must be True or False at column {_pos + 1}, found {Found()}");
        }

        private long[] ParseShape()
        {
            Expect('(');
            var dims = new List<long>();
            var trailingComma = false;
            while (true)
            {
                SkipSpace();
                if (Peek() == ')')
                {
                    _pos++;
                    break;
                }
                var start = _pos;
                while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
                {
                    _pos++;
                }
                if (_pos == start)
                {
                    throw Fail($"'shape' must be a tuple of non-negative integers; found {Found()} at column {_pos + 1}");
                }
                if (!long.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out var dim))
                {
                    throw Fail($"shape dimension {_text[start.._pos]} is too large");
                }
                if (Peek() == 'L')
                {
                    _pos++;
                }
                dims.Add(dim);
                if (dims.Count > MaxRank)
                {
                    throw Fail($"shape has more than {MaxRank} dimensions");
                }
                SkipSpace();
                trailingComma = Peek() == ',';
                if (trailingComma)
                {
                    _pos++;
                    continue;
                }
                Expect(')');
                break;
            }
            if (dims.Count == 1 && !trailingComma)
            {
                throw Fail("'shape' must be a tuple: a single dimension needs a trailing comma, as in (5,)");
            }
            return [.. dims];
        }

        private SkimFormatException Fail(string problem) => Error(path, location, "header: " + problem);
    }
}
