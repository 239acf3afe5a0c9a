using System.Text;
using Skim.Core;

namespace Skim.Models.Vocabulary;

/// <summary>Reads a training corpus: UTF-8 text, one text per line, streamed.</summary>
internal static class CorpusLines
{
    /// <summary>Yields the lines of <paramref name="path"/>; a missing file or invalid UTF-8 is a one-line format error naming the line.</summary>
    public static IEnumerable<string> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "no such corpus file");
        }
        return ReadExisting(path);
    }

    private static IEnumerable<string> ReadExisting(string path)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        var lineNumber = 0;
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException e)
            {
                throw new SkimFormatException(path, $"line {lineNumber + 1}", $"not UTF-8 ({e.Message})");
            }
            if (line is null)
            {
                yield break;
            }
            lineNumber++;
            yield return line;
        }
    }
}
