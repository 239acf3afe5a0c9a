using System.Globalization;
using Skim.Models.Tokenization;

namespace Skim.Bench;

/// <summary>
/// Makes texts of an exact number of token ids from a list of words, so that benchmark sequences
/// have the length they are meant to have. A byte-level BPE pre-tokenizes at spaces, so a text's
/// ids are the first word's ids followed by those of each " word": each word's two costs are counted
/// once and summed, and every text is checked against the tokenizer at the end.
/// </summary>
public sealed class LoraTokenCounter
{
    private readonly ITextTokenizer _tokenizer;
    private readonly IReadOnlyList<string> _words;
    private readonly int[] _first;
    private readonly int[] _next;

    /// <summary>Counts the ids of every word, at the start of a text and after a space.</summary>
    public LoraTokenCounter(ITextTokenizer tokenizer, IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(words);
        _tokenizer = tokenizer;
        _words = words;
        _first = [.. words.Select(w => tokenizer.EncodeWithoutSpecialTokens(w).Count)];
        _next = [.. words.Select(w => tokenizer.EncodeWithoutSpecialTokens(" " + w).Count)];
    }

    /// <summary>Returns random words, space-separated, that encode to exactly <paramref name="tokens"/> ids.</summary>
    /// <exception cref="InvalidOperationException">No word fits the last ids left, or the tokenizer disagrees with the sum.</exception>
    public string Text(int tokens, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var parts = new List<string>();
        var count = 0;
        while (count < tokens)
        {
            var costs = parts.Count == 0 ? _first : _next;
            var remaining = tokens - count;
            var pick = random.Next(_words.Count);
            if (costs[pick] > remaining)
            {
                var fitting = Enumerable.Range(0, _words.Count).Where(i => costs[i] <= remaining).ToList();
                if (fitting.Count == 0)
                {
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"no word encodes to {remaining} ids or fewer; the text cannot be made {tokens} ids long"));
                }
                pick = fitting[random.Next(fitting.Count)];
            }
            parts.Add(_words[pick]);
            count += costs[pick];
        }
        var text = string.Join(' ', parts);
        var actual = _tokenizer.EncodeWithoutSpecialTokens(text).Count;
        return actual == tokens
            ? text
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"the words' ids summed to {tokens} but the text encodes to {actual} ids"));
    }
}
