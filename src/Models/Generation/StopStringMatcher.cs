using System.Text;
using Skim.Models.Tokenization;

namespace Skim.Models.Generation;

/// <summary>
/// Cuts a sequence's generated text before its first stop string, asked after every new token.
/// Decoding the whole continuation at every step made long generations quadratic, so a step
/// decodes only a tail window of the tokens and uses that text as a detector: only when the tail
/// shows a stop string is the whole continuation decoded, once, and cut where the full text says.
/// </summary>
/// <remarks>
/// <para>
/// Why the tail cannot miss a stop string S that the full text holds. The matcher is asked after
/// every token, so the text one token shorter held no stop string (generation would have ended
/// there): S must reach into text that the newest token changed. For the tokenizers that get a
/// window the text is the UTF-8 decoding of a byte stream to which each token adds its bytes, invalid
/// bytes becoming U+FFFD per maximal subpart: byte-level BPE adds the token's bytes (none for a
/// skipped special token); SentencePiece adds a piece's text or one byte-fallback byte, and decodes
/// runs of those bytes between pieces and special tokens, the same way in the full text and the tail. So:
/// </para>
/// <list type="number">
/// <item>Appending bytes changes the text only from the last 3 bytes before them on (an unfinished
/// character is decided by the bytes that follow). S's last character therefore starts in the newest
/// token or in the 3 bytes before it, and its other characters span at most S's UTF-8 length before
/// that (a character takes its UTF-8 length in S, U+FFFD stands for at most 3 bytes, and a surrogate
/// pair cut by S's start costs one byte more, which S's last character, at least one byte, makes up).</item>
/// <item>A window that starts inside a character decodes its first continuation bytes (at most 3)
/// as U+FFFD; from the next character on, its text equals the full text.</item>
/// <item>A token whose own decoding is not empty adds at least one byte wherever it stands. Tokens
/// that decode alone to nothing (skipped special tokens; SentencePiece's lone "▁", whose space is
/// stripped) are not counted, only carried inside the window.</item>
/// </list>
/// <para>
/// So the newest token plus <c>UTF-8 length of the longest stop string + 6</c> counted tokens before
/// it hold every such S whole after the window's first 3 bytes. SentencePiece also strips the leading
/// space of the window's first piece, which the full text keeps, so the tail is searched for each stop
/// string with any one of its spaces removed as well. A false alarm costs one full decode; the cut
/// text always comes from the full decode.
/// </para>
/// <para>
/// Every step still decodes everything for WordPiece (its decoder joins words with spaces and
/// rewrites spacing around punctuation, so no byte argument holds; it is an encoder vocabulary that
/// generation does not meet) and for SentencePiece models that treat whitespace as a suffix (they
/// drop the last word's trailing space at the end of the text, so a new token can restore a space
/// arbitrarily far back).
/// </para>
/// </remarks>
internal sealed class StopStringMatcher
{
    // At most 3 bytes of a character that the newest token completes, and at most 3 continuation bytes
    // of a character cut by the window's start (remarks, items 1 and 2). A closer count can fold both
    // into the stop string's own length; the margin keeps each step of the argument on its own.
    private const int MarginBytes = 6;

    // Single-letter pieces that any Latin-trained SentencePiece vocabulary has, for the whitespace probe.
    private static readonly string[] s_probeLetters = ["a", "e", "t", "o", "s"];

    private readonly ITextTokenizer _tokenizer;
    private readonly IReadOnlyList<string> _stops;
    private readonly string[] _tailPatterns;
    private readonly Dictionary<int, bool> _counted = [];

    /// <summary>Creates a matcher for <paramref name="stops"/> (non-empty strings) over <paramref name="tokenizer"/>'s decoding.</summary>
    public StopStringMatcher(ITextTokenizer tokenizer, IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(stops);
        _tokenizer = tokenizer;
        _stops = stops;
        var windowed = tokenizer.Kind switch
        {
            TokenizerKind.ByteLevelBpe => true,
            TokenizerKind.SentencePiece => KeepsSpacesBeforeTheEnd(tokenizer),
            _ => false,
        };
        WindowTokens = windowed ? stops.Max(Encoding.UTF8.GetByteCount) + MarginBytes : null;
        _tailPatterns = tokenizer.Kind == TokenizerKind.SentencePiece
            ? [.. stops.Concat(stops.SelectMany(WithOneSpaceRemoved)).Distinct(StringComparer.Ordinal)]
            : [.. stops];
    }

    /// <summary>Gets how many counted tokens before the newest one the tail holds, or null when every step decodes all tokens.</summary>
    public int? WindowTokens { get; }

    /// <summary>
    /// Returns the text of <paramref name="tokens"/> before its first stop string, or null while it
    /// has none. Must be asked after every appended token: the window relies on the text one token
    /// shorter having no stop string.
    /// </summary>
    public string? TextBeforeStop(IReadOnlyList<int> tokens)
    {
        var start = WindowStart(tokens);
        var tail = _tokenizer.Decode(tokens.Skip(start), skipSpecialTokens: true);
        if (start == 0)
        {
            // The window is the whole continuation: its text is the full text.
            return CutBeforeFirstStop(tail);
        }
        return _tailPatterns.Any(p => tail.Contains(p, StringComparison.Ordinal))
            ? CutBeforeFirstStop(_tokenizer.Decode(tokens, skipSpecialTokens: true))
            : null;
    }

    /// <summary>Gets whether the tail window of <paramref name="tokens"/> shows a stop string (true whenever the full text does).</summary>
    internal bool TailMayHoldStop(IReadOnlyList<int> tokens)
    {
        var tail = _tokenizer.Decode(tokens.Skip(WindowStart(tokens)), skipSpecialTokens: true);
        return _tailPatterns.Any(p => tail.Contains(p, StringComparison.Ordinal));
    }

    /// <summary>Gets the index of the first token of the tail window: the newest token and <see cref="WindowTokens"/> counted tokens before it.</summary>
    internal int WindowStart(IReadOnlyList<int> tokens)
    {
        if (WindowTokens is not { } window)
        {
            return 0;
        }
        var counted = 0;
        for (var i = tokens.Count - 2; i >= 0; i--)
        {
            if (Counts(tokens[i]) && ++counted == window)
            {
                return i;
            }
        }
        return 0;
    }

    // The first stop string's position in the full text decides, whichever stop string it is.
    private string? CutBeforeFirstStop(string text)
    {
        var cut = -1;
        foreach (var stop in _stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut))
            {
                cut = at;
            }
        }
        return cut < 0 ? null : text[..cut];
    }

    private bool Counts(int id)
    {
        if (!_counted.TryGetValue(id, out var counts))
        {
            counts = _tokenizer.Decode([id], skipSpecialTokens: true).Length > 0;
            _counted[id] = counts;
        }
        return counts;
    }

    private static IEnumerable<string> WithOneSpaceRemoved(string stop)
    {
        for (var at = stop.IndexOf(' ', StringComparison.Ordinal); at >= 0; at = stop.IndexOf(' ', at + 1))
        {
            yield return stop.Remove(at, 1);
        }
    }

    // Prefix-space models (Llama-2, Mistral) strip only the first piece's leading space, so a piece
    // followed by a lone "▁" decodes to the piece and a space; suffix-space models drop that space as
    // the text's last trailing one. A vocabulary without the probe pieces decodes everything.
    private static bool KeepsSpacesBeforeTheEnd(ITextTokenizer tokenizer)
    {
        if (tokenizer.TokenToId("\u2581") is not { } space)
        {
            return false;
        }
        var letter = s_probeLetters.Select(tokenizer.TokenToId).FirstOrDefault(id => id is not null);
        return letter is { } piece && tokenizer.Decode([piece, space], skipSpecialTokens: true) == tokenizer.Decode([piece], skipSpecialTokens: true) + " ";
    }
}
