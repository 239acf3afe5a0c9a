using System.Globalization;
using System.Text;

namespace Skim.Models.Tokenization;

/// <summary>
/// The pre-WordPiece step of Hugging Face's <c>BasicTokenizer</c> (and the fast tokenizer's
/// <c>BertNormalizer</c> + <c>BertPreTokenizer</c>): clean the text, isolate CJK ideographs,
/// lower-case and strip accents for uncased vocabularies, split on whitespace and punctuation.
/// </summary>
/// <remarks>
/// Written here rather than taken from Microsoft.ML.Tokenizers' <c>BertTokenizer</c> because that
/// one's basic step differs from Hugging Face on inputs NGAME's data contains (accented words became
/// <c>[UNK]</c> instead of being stripped, an emoji vanished instead of becoming <c>[UNK]</c>, tabs
/// split differently). The WordPiece step itself is the library's.
/// </remarks>
internal sealed class BertBasicTokenizer
{
    private readonly bool _lowerCase;
    private readonly bool _stripAccents;
    private readonly bool _splitCjk;

    /// <summary>Creates the step; <paramref name="stripAccents"/> null means "when lower-casing", as in HF.</summary>
    public BertBasicTokenizer(bool lowerCase, bool? stripAccents = null, bool splitCjk = true)
    {
        _lowerCase = lowerCase;
        _stripAccents = stripAccents ?? lowerCase;
        _splitCjk = splitCjk;
    }

    /// <summary>Splits <paramref name="text"/> into the words WordPiece sees, appending them to <paramref name="words"/>.</summary>
    public void Split(ReadOnlySpan<char> text, List<string> words)
    {
        var cleaned = Clean(text);
        var word = new StringBuilder();
        foreach (var rune in cleaned.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune))
            {
                Flush(word, words);
                continue;
            }
            if (IsPunctuation(rune) || (_splitCjk && IsCjk(rune.Value)))
            {
                Flush(word, words);
                words.Add(rune.ToString());
                continue;
            }
            Append(word, rune);
        }
        Flush(word, words);
    }

    private void Flush(StringBuilder word, List<string> words)
    {
        if (word.Length == 0)
        {
            return;
        }
        var text = word.ToString();
        word.Clear();
        if (_lowerCase)
        {
            text = text.ToLowerInvariant();
        }
        if (_stripAccents)
        {
            // Accent stripping can expose punctuation only in theory (no Mn mark is punctuation),
            // so the word stays one word, as in HF where the split happens after stripping.
            text = StripAccents(text);
            if (text.Length == 0)
            {
                return;
            }
        }
        words.Add(text);
    }

    // HF _clean_text: drop NUL, U+FFFD and control characters (category C*, except \t \n \r, which
    // are whitespace); every whitespace character (including Zs) becomes a plain space.
    private static string Clean(ReadOnlySpan<char> text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            var value = rune.Value;
            if (value == 0 || value == 0xFFFD)
            {
                continue;
            }
            if (value is '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator)
            {
                builder.Append(' ');
                continue;
            }
            if (IsControl(rune))
            {
                continue;
            }
            Append(builder, rune);
        }
        return builder.ToString();
    }

    // Appends without the per-character string that Rune.ToString() would allocate.
    private static void Append(StringBuilder builder, Rune rune)
    {
        Span<char> utf16 = stackalloc char[2];
        builder.Append(utf16[..rune.EncodeToUtf16(utf16)]);
    }

    private static bool IsControl(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
        or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    // HF _is_punctuation: every non-alphanumeric printable ASCII character counts (so ^ $ ` and the
    // like split even though Unicode calls them symbols), plus every Unicode P* category.
    private static bool IsPunctuation(Rune rune)
    {
        var value = rune.Value;
        if (value is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126))
        {
            return true;
        }
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    // HF _is_chinese_char: the CJK Unified Ideographs blocks only (not Hangul, Hiragana or Katakana).
    private static bool IsCjk(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    private static string StripAccents(string text)
    {
        if (System.Text.Ascii.IsValid(text))
        {
            return text;
        }
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        foreach (var rune in decomposed.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
            {
                Append(builder, rune);
            }
        }
        return builder.ToString();
    }
}
