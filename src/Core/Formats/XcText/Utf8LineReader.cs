namespace Skim.Core.Formats.XcText;

/// <summary>
/// Reads a stream line by line as raw UTF-8 bytes without decoding the whole file into one string:
/// XC files reach gigabytes, and the sparse reader parses numbers straight from the bytes.
/// </summary>
/// <remarks>
/// A line is everything up to (not including) <c>\n</c>; a final line without <c>\n</c> counts, and
/// the empty tail after a final <c>\n</c> does not, as with Python's <c>for line in f</c>. A
/// carriage return is left in place for the caller to judge.
/// </remarks>
internal sealed class Utf8LineReader
{
    private readonly Stream _stream;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _endOfStream;

    /// <summary>Wraps <paramref name="stream"/>; it is not disposed by the reader.</summary>
    public Utf8LineReader(Stream stream, int bufferSize = 1 << 16)
    {
        _stream = stream;
        _buffer = new byte[bufferSize];
    }

    /// <summary>Gets the 1-based number of the line last returned by <see cref="TryReadLine"/>.</summary>
    public long LineNumber { get; private set; }

    /// <summary>Returns the next line (valid until the next call), or false at the end of the stream.</summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        var searched = 0;
        while (true)
        {
            var pending = _buffer.AsSpan(_start + searched, _end - _start - searched);
            var newline = pending.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = searched + newline;
                line = _buffer.AsSpan(_start, length);
                _start += length + 1;
                LineNumber++;
                return true;
            }
            searched = _end - _start;
            if (_endOfStream)
            {
                if (_end == _start)
                {
                    line = default;
                    return false;
                }
                line = _buffer.AsSpan(_start, _end - _start);
                _start = _end;
                LineNumber++;
                return true;
            }
            Fill();
        }
    }

    private void Fill()
    {
        // Keep the unfinished line: move it to the front, or grow the buffer when it fills it.
        var pending = _end - _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            _start = 0;
            _end = pending;
        }
        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, checked(_buffer.Length * 2));
        }
        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _endOfStream = true;
        }
        _end += read;
    }
}
