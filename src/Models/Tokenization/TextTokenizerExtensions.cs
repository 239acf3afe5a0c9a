namespace Skim.Models.Tokenization;

/// <summary>Encoding with special tokens, truncation and padding, shared by every <see cref="ITextTokenizer"/>.</summary>
public static class TextTokenizerExtensions
{
    /// <summary>
    /// Tokenizes <paramref name="text"/>, adding the prefix/suffix special tokens when asked, and cuts
    /// the content (never the special tokens) so that the result has at most
    /// <paramref name="maxLength"/> ids, as Hugging Face's <c>truncation=True</c> does.
    /// </summary>
    public static int[] Encode(this ITextTokenizer tokenizer, string text, bool addSpecialTokens = true, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(text);
        if (maxLength is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(maxLength));
        }
        return Assemble(tokenizer, tokenizer.EncodeWithoutSpecialTokens(text), addSpecialTokens, maxLength);
    }

    /// <summary>
    /// Tokenizes <paramref name="texts"/> into one padded batch: ids, and an attention mask that is 1
    /// on tokens and 0 on padding (HF <c>padding="max_length", truncation=True</c> by default).
    /// </summary>
    public static EncodedBatch EncodeBatch(this ITextTokenizer tokenizer, IReadOnlyList<string> texts, BatchEncodeOptions options) =>
        EncodeBatch(tokenizer, texts, options, null);

    /// <summary>
    /// As the public overload; also writes each text's length before truncation (special tokens
    /// included) into <paramref name="fullLengths"/> when given.
    /// </summary>
    internal static EncodedBatch EncodeBatch(ITextTokenizer tokenizer, IReadOnlyList<string> texts, BatchEncodeOptions options, int[]? fullLengths)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rows = new int[texts.Count][];
        var longest = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            var content = tokenizer.EncodeWithoutSpecialTokens(texts[i]);
            if (fullLengths is not null)
            {
                fullLengths[i] = content.Count + (options.AddSpecialTokens ? tokenizer.PrefixIds.Count + tokenizer.SuffixIds.Count : 0);
            }
            rows[i] = Assemble(tokenizer, content, options.AddSpecialTokens, options.Truncate ? options.MaxLength : null);
            longest = Math.Max(longest, rows[i].Length);
        }
        var width = options.PadToMaxLength ? Math.Max(longest, options.MaxLength!.Value) : longest;
        var ids = new long[(long)texts.Count * width];
        var mask = new long[ids.LongLength];
        Array.Fill(ids, tokenizer.Special.PaddingId);
        for (var i = 0; i < rows.Length; i++)
        {
            var row = rows[i];
            var start = i * width + (options.PaddingSide == PaddingSide.Left ? width - row.Length : 0);
            for (var j = 0; j < row.Length; j++)
            {
                ids[start + j] = row[j];
                mask[start + j] = 1;
            }
        }
        return new EncodedBatch(ids, mask, texts.Count, width);
    }

    // HF keeps the special tokens and drops content from the end; with a limit below the
    // special-token count it keeps what fits of the specials alone.
    private static int[] Assemble(ITextTokenizer tokenizer, IReadOnlyList<int> content, bool addSpecialTokens, int? maxLength)
    {
        var prefix = addSpecialTokens ? tokenizer.PrefixIds : [];
        var suffix = addSpecialTokens ? tokenizer.SuffixIds : [];
        var keep = maxLength is { } max ? Math.Clamp(max - prefix.Count - suffix.Count, 0, content.Count) : content.Count;
        var ids = new int[prefix.Count + keep + suffix.Count];
        var at = 0;
        foreach (var id in prefix)
        {
            ids[at++] = id;
        }
        for (var i = 0; i < keep; i++)
        {
            ids[at++] = content[i];
        }
        foreach (var id in suffix)
        {
            ids[at++] = id;
        }
        return maxLength is { } limit && ids.Length > limit ? ids[..limit] : ids;
    }
}
