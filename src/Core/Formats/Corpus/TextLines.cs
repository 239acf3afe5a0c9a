using System.Text;
using Skim.Core.Formats.XcText;
using Skim.Core.IO;

namespace Skim.Core.Formats.Corpus;

/// <summary>
/// Raw text files with one item per line (DEXML's <c>raw/trn_X.txt</c>, <c>raw/Y.txt</c>; NGAME's
/// <c>*.raw.txt</c>): UTF-8, line <c>i</c> is item <c>i</c>.
/// </summary>
/// <remarks>
/// A final line without <c>\n</c> counts, an empty tail after the last <c>\n</c> does not; a
/// trailing <c>\r</c> is dropped so Windows files read the same; a leading byte-order mark is
/// ignored. Invalid UTF-8 is an error naming the line, never a silent replacement character.
/// </remarks>
public static class TextLines
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads every line of <paramref name="path"/>.</summary>
    /// <exception cref="SkimFormatException">A line is not valid UTF-8.</exception>
    public static List<string> ReadAll(string path)
    {
        var lines = new List<string>();
        using var stream = XcCorpus.OpenMaybeGzip(path);
        var reader = new Utf8LineReader(stream);
        while (reader.TryReadLine(out var line))
        {
            lines.Add(Decode(line, path, reader.LineNumber));
        }
        return lines;
    }

    /// <summary>Counts the lines of <paramref name="path"/> as <see cref="ReadAll"/> would return them.</summary>
    public static int Count(string path)
    {
        using var stream = XcCorpus.OpenMaybeGzip(path);
        var reader = new Utf8LineReader(stream);
        var count = 0;
        while (reader.TryReadLine(out _))
        {
            count++;
        }
        return count;
    }

    /// <summary>
    /// Writes one line per text to <paramref name="path"/> atomically (UTF-8, <c>\n</c> after every
    /// line). Line breaks inside a text become spaces: left in, they would shift every later item.
    /// </summary>
    public static void Write(string path, IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        AtomicFile.Write(path, stream =>
        {
            // Not disposed: that would close the atomic stream before it is committed.
            var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16);
            foreach (var line in lines)
            {
                writer.Write(ToSingleLine(line));
                writer.Write('\n');
            }
            writer.Flush();
        });
    }

    /// <summary>Replaces the line breaks in <paramref name="text"/> by spaces.</summary>
    public static string ToSingleLine(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.AsSpan().IndexOfAny('\n', '\r') < 0)
        {
            return text;
        }
        return text.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' ');
    }

    private static string Decode(ReadOnlySpan<byte> line, string path, long lineNumber)
    {
        if (lineNumber == 1 && line.StartsWith("\uFEFF"u8))
        {
            line = line[3..];
        }
        if (line.EndsWith("\r"u8))
        {
            line = line[..^1];
        }
        try
        {
            return s_strictUtf8.GetString(line);
        }
        catch (DecoderFallbackException e)
        {
            throw new SkimFormatException(path, $"line {lineNumber}", $"invalid UTF-8 at byte {e.Index + 1} of the line");
        }
    }
}
