using Skim.Models.Generation;
using Skim.Models.Tests.Tokenization;
using Skim.Models.Tokenization;

namespace Skim.Models.Tests.Generation;

/// <summary>The tail-window stop-string detector against the naive check: decode everything after every token.</summary>
public sealed class StopStringMatcherTests
{
    private static readonly Lazy<ByteLevelBpeTokenizer> s_gpt2 = new(() => ByteLevelBpeTokenizer.FromFiles(
        Path.Combine(TokenizerFixtures.Gpt2, "vocab.json"), Path.Combine(TokenizerFixtures.Gpt2, "merges.txt")));

    private static readonly Lazy<SentencePieceTextTokenizer> s_sentencePiece = new(() =>
        SentencePieceTextTokenizer.FromModelFile(Path.Combine(TokenizerFixtures.TinySentencePiece, "tokenizer.model")));

    public static TheoryData<string, string> Texts => new()
    {
        // Emoji, CJK and accents are several byte tokens each in GPT-2, so prefixes end inside characters.
        { "gpt2", "Hello world, café 😀 北京 naïve — “quoted” ½ and 👍🏽 then a few more plain words" },
        { "gpt2", "😀😀👍🏽 family: 👨‍👩‍👧 x=1234567890; y = 12.5e-3 done" },
        // Byte fallback for everything outside the tiny vocabulary; "京 n" puts a piece's space right
        // after a run of byte tokens, where the window's first piece loses it.
        { "sentencepiece", "the time of the world 北京北京北京 naïve café 😀 house of the time" },
        { "sentencepiece", "  two  spaces and a\ttab\nnewline then the world" },
        // The character tokenizer has no space (its id would be EOS).
        { "character", "abc_def:ghi|jkl~mno.pqr!stu,vwx" },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void Stepping_through_a_text_cuts_where_a_full_decode_after_every_token_cuts(string tokenizerName, string text)
    {
        // Given a tokenizer, the ids of a text with a skipped special token after every fifth id, and
        // as stop strings every substring of 1 to 5 characters of its text (lone surrogate halves
        // included) plus U+FFFD, which only prefixes that end inside a character show
        var tokenizer = Tokenizer(tokenizerName);
        var ids = WithSpecialEvery(tokenizer.EncodeWithoutSpecialTokens(text), SkippedSpecial(tokenizer), 5);
        var full = tokenizer.Decode(ids);
        var stops = Enumerable.Range(1, 5)
            .SelectMany(length => Enumerable.Range(0, full.Length - length + 1).Select(at => full.Substring(at, length)))
            .Append("\uFFFD")
            .Distinct(StringComparer.Ordinal)
            .ToList();

        // When each stop string is looked for after every id, with the window and with the naive check
        var windowed = 0;
        foreach (var stop in stops)
        {
            var matcher = new StopStringMatcher(tokenizer, [stop]);
            for (var n = 1; n <= ids.Count; n++)
            {
                var prefix = ids.Take(n).ToList();
                var expected = NaiveTextBeforeStop(tokenizer, prefix, [stop]);
                var actual = matcher.TextBeforeStop(prefix);

                // Then both give the same cut at the same id, whether or not the window was used
                Assert.True(expected == actual, $"stop '{stop}' after {n} ids: expected {Show(expected)}, found {Show(actual)}");
                windowed += matcher.WindowStart(prefix) > 0 ? 1 : 0;
                if (expected is not null)
                {
                    break;
                }
            }
        }
        Assert.True(windowed > 100, $"only {windowed} checks used the tail window");
    }

    [Fact]
    public void A_stop_string_split_by_the_space_of_the_windows_first_piece_is_found()
    {
        // Given SentencePiece ids where a piece with a leading space follows a long run of byte tokens
        // (each CJK character is three), and a stop string across that space
        var tokenizer = s_sentencePiece.Value;
        var ids = tokenizer.EncodeWithoutSpecialTokens("the 北京北京北京北京 now").ToList();
        var matcher = new StopStringMatcher(tokenizer, ["京 n"]);
        var stopAt = Enumerable.Range(1, ids.Count).First(n => tokenizer.Decode(ids.Take(n)).Contains("京 n", StringComparison.Ordinal));
        var prefix = ids.Take(stopAt).ToList();

        // When the tail window is decoded at the id that completes the stop string
        var tail = tokenizer.Decode(prefix.Skip(matcher.WindowStart(prefix)));

        // Then the tail lost that space (its first piece is the newest id), yet the detector fires and the cut is exact
        Assert.DoesNotContain("京 n", tail, StringComparison.Ordinal);
        Assert.True(matcher.TailMayHoldStop(prefix));
        Assert.Equal("the 北京北京北京北", matcher.TextBeforeStop(prefix));
    }

    [Fact]
    public void The_window_is_the_longest_stop_strings_utf8_length_plus_six_tokens_and_wordpiece_decodes_everything()
    {
        // Given stop strings of 2 and 4 UTF-8 bytes ("€x" is 3 + 1)
        string[] stops = ["ab", "€x"];

        // When matchers are made for byte-level BPE, SentencePiece (prefix spaces) and WordPiece
        var gpt2 = new StopStringMatcher(s_gpt2.Value, stops);
        var sentencePiece = new StopStringMatcher(s_sentencePiece.Value, stops);
        var wordPiece = new StopStringMatcher(BertWordPieceTokenizer.FromVocabFile(Path.Combine(TokenizerFixtures.BertBaseUncased, "vocab.txt")), stops);

        // Then the first two look back 4 + 6 counted tokens, and WordPiece, whose decoder rewrites
        // spacing, decodes the whole continuation every time
        Assert.Equal(10, gpt2.WindowTokens);
        Assert.Equal(10, sentencePiece.WindowTokens);
        Assert.Null(wordPiece.WindowTokens);
        Assert.Equal(0, wordPiece.WindowStart([.. Enumerable.Repeat(2000, 50)]));
    }

    [Fact]
    public void Tokens_that_decode_to_nothing_do_not_count_towards_the_window()
    {
        // Given GPT-2 ids of plain text with end-of-text markers (skipped when decoding) in between
        var tokenizer = s_gpt2.Value;
        var word = tokenizer.EncodeWithoutSpecialTokens(" word").Single();
        var endOfText = tokenizer.Special.Eos!.Value;
        List<int> ids = [.. Enumerable.Repeat(word, 20), endOfText, endOfText, endOfText, word];
        var matcher = new StopStringMatcher(tokenizer, ["ab"]);

        // When the window start is computed
        var start = matcher.WindowStart(ids);

        // Then it holds the newest id, the three markers and 8 (2 + 6) counted ids before them
        Assert.Equal(ids.Count - 1 - 3 - 8, start);
    }

    internal static string? NaiveTextBeforeStop(ITextTokenizer tokenizer, IReadOnlyList<int> ids, IReadOnlyList<string> stops)
    {
        var text = tokenizer.Decode(ids);
        var cuts = stops.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(at => at >= 0).ToList();
        return cuts.Count == 0 ? null : text[..cuts.Min()];
    }

    private static ITextTokenizer Tokenizer(string name) => name switch
    {
        "gpt2" => s_gpt2.Value,
        "sentencepiece" => s_sentencePiece.Value,
        _ => new CharacterTokenizer(),
    };

    // An id that decoding drops: GPT-2's end-of-text, SentencePiece's and the character tokenizer's EOS.
    private static int SkippedSpecial(ITextTokenizer tokenizer) => tokenizer.Special.Eos!.Value;

    private static List<int> WithSpecialEvery(IReadOnlyList<int> ids, int special, int every)
    {
        var result = new List<int>();
        for (var i = 0; i < ids.Count; i++)
        {
            result.Add(ids[i]);
            if ((i + 1) % every == 0)
            {
                result.Add(special);
            }
        }
        return result;
    }

    private static string Show(string? text) => text is null ? "no stop" : $"'{text}'";
}
