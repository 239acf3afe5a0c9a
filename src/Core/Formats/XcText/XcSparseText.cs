using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Skim.Core.IO;
using Skim.Core.Sparse;

namespace Skim.Core.Formats.XcText;

/// <summary>
/// The XC repository's sparse text format (<c>trn_X_Y.txt</c>, <c>tst_X_Y.txt</c>, predictions), read
/// and written as pyxclib's <c>read_sparse_file</c> and <c>write_sparse_file</c> do: a header
/// <c>"rows cols"</c>, then one line per row of space-separated <c>idx:val</c> tokens.
/// </summary>
/// <remarks>
/// The reader streams the file and parses numbers from the bytes. The header's shape wins: fewer
/// rows than announced are padded with empty rows, more rows or an index beyond the header's
/// columns are errors. <c>#</c> starts a comment and a leading <c>qid:n</c> token is skipped. NaN
/// values are refused (they poison every metric); infinities are kept. The writer is byte-exact
/// with pyxclib writing a float32 matrix: pyxclib formats each <c>np.float32</c> with
/// <c>'{}'.format</c>, which widens it to a Python float, so values appear as
/// <c>repr(float(value))</c> (0.1f is written <c>0.10000000149011612</c>, 1 as <c>1.0</c>).
/// </remarks>
public static class XcSparseText
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the matrix in <paramref name="path"/>.</summary>
    /// <exception cref="SkimFormatException">The file breaks the format; the message names the line.</exception>
    public static CsrMatrix Read(string path, XcTextReadOptions? options = null)
    {
        using var stream = OpenRead(path);
        return Read(stream, path, options);
    }

    /// <summary>Reads a matrix from <paramref name="stream"/>; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="SkimFormatException">The text breaks the format; the message names the line.</exception>
    public static CsrMatrix Read(Stream stream, string sourceName, XcTextReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= XcTextReadOptions.Default;
        var reader = new Utf8LineReader(stream);
        long? byteLength = stream.CanSeek ? stream.Length : null;
        var (rows, columns) = ReadHeader(reader, sourceName, byteLength);
        var parser = new RowParser(sourceName, options, columns, EstimateNonZeros(byteLength));
        var row = 0;
        while (reader.TryReadLine(out var line))
        {
            if (row == rows)
            {
                throw new SkimFormatException(sourceName, $"line {reader.LineNumber}", $"more rows than the header's {rows}");
            }
            parser.ParseRow(line, reader.LineNumber);
            row++;
        }
        return parser.Finish(rows);
    }

    /// <summary>Reads only the header of <paramref name="path"/>: the announced (rows, columns).</summary>
    /// <exception cref="SkimFormatException">The header is missing or malformed.</exception>
    public static (int Rows, int Columns) ReadShape(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(new Utf8LineReader(stream, 4096), path, stream.Length);
    }

    /// <summary>Writes <paramref name="matrix"/> to <paramref name="path"/> atomically (temporary name, then rename).</summary>
    /// <exception cref="SkimException">The matrix holds a NaN or a duplicate index in a row.</exception>
    public static void Write(string path, CsrMatrix matrix) => AtomicFile.Write(path, stream => Write(stream, matrix, path));

    /// <summary>Writes <paramref name="matrix"/> to <paramref name="stream"/> exactly as pyxclib's <c>write_sparse_file</c> does.</summary>
    /// <exception cref="SkimException">The matrix holds a NaN or a duplicate index in a row.</exception>
    public static void Write(Stream stream, CsrMatrix matrix) => Write(stream, matrix, "matrix");

    private static void Write(Stream stream, CsrMatrix matrix, string target)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(matrix);
        // Flushed, not disposed: disposing would close the caller's (or the atomic) stream.
        var output = new BufferedStream(stream, 1 << 16);
        Span<byte> token = stackalloc byte[16 + PythonNumbers.MaxFloatLength];
        WriteAscii(output, string.Create(CultureInfo.InvariantCulture, $"{matrix.Rows} {matrix.Columns}\n"));
        int[] order = [];
        for (var r = 0; r < matrix.Rows; r++)
        {
            var indices = matrix.RowIndices(r);
            var values = matrix.RowValues(r);
            // pyxclib sorts the indices before writing; sort a permutation so the matrix is untouched.
            if (order.Length < indices.Length)
            {
                order = new int[Math.Max(indices.Length, order.Length * 2)];
            }
            var perm = order.AsSpan(0, indices.Length);
            for (var k = 0; k < perm.Length; k++)
            {
                perm[k] = k;
            }
            if (!IsStrictlyIncreasing(indices))
            {
                var keys = indices.ToArray();
                keys.AsSpan().Sort(perm);
            }
            for (var k = 0; k < perm.Length; k++)
            {
                var column = indices[perm[k]];
                var value = values[perm[k]];
                if (k > 0 && column == indices[perm[k - 1]])
                {
                    throw new SkimException($"{target}: row {r} holds column {column} twice; sum or drop duplicates before writing");
                }
                if (float.IsNaN(value))
                {
                    throw new SkimException($"{target}: row {r}, column {column} is NaN, which the XC text format refuses");
                }
                var n = 0;
                if (k > 0)
                {
                    token[n++] = (byte)' ';
                }
                column.TryFormat(token[n..], out var written, default, CultureInfo.InvariantCulture);
                n += written;
                token[n++] = (byte)':';
                n += PythonNumbers.FormatFloat(value, token[n..]);
                output.Write(token[..n]);
            }
            output.WriteByte((byte)'\n');
        }
        output.Flush();
    }

    internal static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw new SkimFormatException(path, null, "file not found");
        }
        catch (DirectoryNotFoundException)
        {
            throw new SkimFormatException(path, null, "file not found");
        }
    }

    private static (int Rows, int Columns) ReadHeader(Utf8LineReader reader, string sourceName, long? byteLength)
    {
        if (!reader.TryReadLine(out var line))
        {
            throw new SkimFormatException(sourceName, "line 1", "missing header: expected \"<rows> <cols>\", found an empty file");
        }
        var trimmed = line.Trim(" \t\r\v\f"u8);
        var space = trimmed.IndexOf((byte)' ');
        // pyxclib splits the header on exactly one space, so "3  7" or "3\t7" are errors there too.
        if (space <= 0
            || !TryParseCount(trimmed[..space], out var rows)
            || !TryParseCount(trimmed[(space + 1)..], out var columns))
        {
            throw new SkimFormatException(sourceName, "line 1", $"header must be \"<rows> <cols>\" (two non-negative integers separated by one space), found \"{Describe(line)}\"");
        }
        // The header may announce rows the file leaves out (they become empty rows), but never so
        // many that a lying header would make us allocate far beyond the file's size.
        var rowLimit = byteLength is { } length ? Math.Min(Array.MaxLength - 1L, (length * 16) + (1 << 20)) : Array.MaxLength - 1L;
        if (rows > rowLimit)
        {
            throw new SkimFormatException(sourceName, "line 1", $"header announces {rows} rows, more than a file of {byteLength} bytes can describe (at most {rowLimit})");
        }
        if (columns > Array.MaxLength)
        {
            throw new SkimFormatException(sourceName, "line 1", $"header announces {columns} columns, more than the {Array.MaxLength} supported");
        }
        return ((int)rows, (int)columns);
    }

    // pyxclib reads the header with int(), as it reads the indices: "+3" and "1_000" are counts too.
    private static bool TryParseCount(ReadOnlySpan<byte> text, out long value) =>
        PythonNumbers.TryParseInt(text, out value) && value >= 0;

    private static int EstimateNonZeros(long? byteLength) =>
        byteLength is { } length ? (int)Math.Clamp(length / 8, 1024, 1L << 26) : 1 << 16;

    private static bool IsStrictlyIncreasing(ReadOnlySpan<int> indices)
    {
        for (var k = 1; k < indices.Length; k++)
        {
            if (indices[k] <= indices[k - 1])
            {
                return false;
            }
        }
        return true;
    }

    private static void WriteAscii(Stream stream, string text)
    {
        Span<byte> bytes = stackalloc byte[text.Length];
        Encoding.ASCII.GetBytes(text, bytes);
        stream.Write(bytes);
    }

    /// <summary>Shows a line or token in an error message: decoded, shortened, never spanning lines.</summary>
    internal static string Describe(ReadOnlySpan<byte> text)
    {
        const int Limit = 60;
        var shown = text.Length > Limit ? text[..Limit] : text;
        var decoded = Encoding.UTF8.GetString(shown).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);
        return text.Length > Limit ? decoded + "..." : decoded;
    }

    /// <summary>Throws a format error naming the line when <paramref name="line"/> is not valid UTF-8.</summary>
    internal static void EnsureUtf8(ReadOnlySpan<byte> line, string sourceName, long lineNumber)
    {
        if (Utf8.IsValid(line))
        {
            return;
        }
        var offset = 0;
        try
        {
            s_strictUtf8.GetCharCount(line);
        }
        catch (DecoderFallbackException e)
        {
            offset = e.Index;
        }
        throw new SkimFormatException(sourceName, $"line {lineNumber}", $"invalid UTF-8 at byte {offset + 1} of the line");
    }

    /// <summary>Accumulates the rows of one matrix, checking each token as pyxclib does.</summary>
    private sealed class RowParser
    {
        private readonly string _source;
        private readonly XcTextReadOptions _options;
        private readonly int _columns;
        private int[] _indPtr = new int[1025];
        private int[] _indices;
        private float[] _data;
        private int _rows;
        private int _nonZeros;
        private int _minIndex = int.MaxValue;
        private long _lineWithIndexAtColumns;

        public RowParser(string source, XcTextReadOptions options, int columns, int capacity)
        {
            _source = source;
            _options = options;
            _columns = columns;
            _indices = new int[capacity];
            _data = new float[capacity];
        }

        public void ParseRow(ReadOnlySpan<byte> line, long lineNumber)
        {
            EnsureUtf8(line, _source, lineNumber);
            var hash = line.IndexOf((byte)'#');
            if (hash >= 0)
            {
                line = line[..hash];
            }
            var rowStart = _nonZeros;
            var previous = -1;
            var first = true;
            var sorted = true;
            while (NextToken(ref line, out var token))
            {
                if (first && token.StartsWith("qid"u8))
                {
                    first = false;
                    if (token.IndexOf((byte)':') < 0)
                    {
                        throw Error(lineNumber, $"expected \"qid:<n>\", found \"{Describe(token)}\"");
                    }
                    continue;
                }
                first = false;
                var colon = token.IndexOf((byte)':');
                if (colon < 0)
                {
                    throw Error(lineNumber, $"expected \"idx:val\", found \"{Describe(token)}\"");
                }
                var index = ParseIndex(token[..colon], lineNumber);
                if (!PythonNumbers.TryParseFloat(token[(colon + 1)..], out var parsed))
                {
                    throw Error(lineNumber, $"value \"{Describe(token[(colon + 1)..])}\" of index {index} is not a number");
                }
                if (double.IsNaN(parsed))
                {
                    throw Error(lineNumber, $"value of index {index} is NaN; NaN is refused because it poisons every sum and metric");
                }
                if (index <= previous)
                {
                    if (_options.Strict)
                    {
                        throw Error(lineNumber, $"indices must be sorted and unique (strict read), found {index} after {previous}; read leniently to sum duplicates");
                    }
                    sorted = false;
                }
                previous = index;
                Append(index, (float)parsed);
            }
            if (!sorted)
            {
                SortAndSumRow(rowStart);
            }
            if (_rows + 1 == _indPtr.Length)
            {
                Array.Resize(ref _indPtr, _indPtr.Length * 2);
            }
            _rows++;
            _indPtr[_rows] = _nonZeros;
        }

        public CsrMatrix Finish(int headerRows)
        {
            if (_options.IndexBase == XcIndexBase.Auto)
            {
                if (_nonZeros > 0 && _minIndex > 0)
                {
                    for (var k = 0; k < _nonZeros; k++)
                    {
                        _indices[k]--;
                    }
                }
                else if (_lineWithIndexAtColumns > 0)
                {
                    throw Error(_lineWithIndexAtColumns, $"index {_columns} is beyond the header's {_columns} columns (0-based: at most {_columns - 1})");
                }
            }
            // A stream of unknown length gives the header no bound up front; refuse to pad far
            // beyond what was read rather than allocate for a lying header.
            var padding = (long)headerRows - _rows;
            if (padding > Math.Max(1L << 20, 16L * _rows))
            {
                throw new SkimFormatException(_source, "line 1", $"header announces {headerRows} rows but the file has only {_rows}; refusing to pad {padding} empty rows");
            }
            var indPtr = new int[headerRows + 1];
            _indPtr.AsSpan(0, _rows + 1).CopyTo(indPtr);
            // Rows the file leaves out are empty (pyxclib pads indptr when the header says more).
            indPtr.AsSpan(_rows + 1).Fill(_nonZeros);
            return new CsrMatrix(headerRows, _columns, indPtr, _indices.AsSpan(0, _nonZeros).ToArray(), _data.AsSpan(0, _nonZeros).ToArray());
        }

        private int ParseIndex(ReadOnlySpan<byte> text, long lineNumber)
        {
            if (!PythonNumbers.TryParseInt(text, out var raw))
            {
                throw Error(lineNumber, $"index \"{Describe(text)}\" is not an integer");
            }
            if (raw < 0)
            {
                throw Error(lineNumber, $"negative index {raw}");
            }
            switch (_options.IndexBase)
            {
                case XcIndexBase.One:
                    if (raw == 0)
                    {
                        throw Error(lineNumber, "index 0 in a file read as 1-based");
                    }
                    raw--;
                    break;
                case XcIndexBase.Auto:
                    // The base is known only at the end; an index equal to the column count is fine
                    // if the file turns out to be 1-based, so remember where the first one was.
                    if (raw == _columns)
                    {
                        if (_lineWithIndexAtColumns == 0)
                        {
                            _lineWithIndexAtColumns = lineNumber;
                        }
                        _minIndex = Math.Min(_minIndex, (int)raw);
                        return (int)raw;
                    }
                    break;
                case XcIndexBase.Zero:
                default:
                    break;
            }
            if (raw >= _columns)
            {
                throw Error(lineNumber, $"index {raw} is beyond the header's {_columns} columns (0-based: at most {_columns - 1})");
            }
            _minIndex = Math.Min(_minIndex, (int)raw);
            return (int)raw;
        }

        private void Append(int index, float value)
        {
            if (_nonZeros == _indices.Length)
            {
                CsrMatrix.EnsureNonZerosFit((long)_nonZeros + 1, _source);
                var grown = (int)Math.Min(Array.MaxLength, (long)_indices.Length * 2);
                Array.Resize(ref _indices, grown);
                Array.Resize(ref _data, grown);
            }
            _indices[_nonZeros] = index;
            _data[_nonZeros] = value;
            _nonZeros++;
        }

        private void SortAndSumRow(int rowStart)
        {
            // The COO path of pyxclib: scipy sums duplicate (row, col) entries when converting to CSR.
            var indices = _indices.AsSpan(rowStart, _nonZeros - rowStart);
            var data = _data.AsSpan(rowStart, _nonZeros - rowStart);
            indices.Sort(data);
            var write = 0;
            for (var k = 0; k < indices.Length; k++)
            {
                if (write > 0 && indices[write - 1] == indices[k])
                {
                    data[write - 1] += data[k];
                }
                else
                {
                    indices[write] = indices[k];
                    data[write] = data[k];
                    write++;
                }
            }
            _nonZeros = rowStart + write;
        }

        private SkimFormatException Error(long lineNumber, string problem) => new(_source, $"line {lineNumber}", problem);

        private static bool NextToken(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> token)
        {
            // Python's bytes.split(): runs of ASCII whitespace separate tokens.
            var start = 0;
            while (start < rest.Length && IsSpace(rest[start]))
            {
                start++;
            }
            if (start == rest.Length)
            {
                token = default;
                rest = default;
                return false;
            }
            var end = start;
            while (end < rest.Length && !IsSpace(rest[end]))
            {
                end++;
            }
            token = rest[start..end];
            rest = rest[end..];
            return true;
        }

        private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0x0b or 0x0c;
    }
}
