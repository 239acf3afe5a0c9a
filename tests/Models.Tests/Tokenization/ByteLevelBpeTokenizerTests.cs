using System.Text.Json;
using Skim.Models.Tokenization;

namespace Skim.Models.Tests.Tokenization;

/// <summary>Byte-level BPE on GPT-2's real vocabulary and merges, against documented ids and an independent Python BPE.</summary>
public sealed class ByteLevelBpeTokenizerTests
{
    private static readonly string[] s_texts =
    [
        "Hello world",
        " Hello world",
        "GPT-2 isn't   bad!\n\tok 12345 café 😀 北京",
        "I'LL  see   you\r\n\r\nat 3:30pm, won't we?",
        "naïve façade — “quoted” … ½ ² ٣",
        "",
        "   leading and trailing   ",
        "tabs\tand\u00a0nbsp\u3000ideographic space",
        "😀😀👍🏽 family: 👨‍👩‍👧",
        "x=1234567890; y = 12.5e-3",
    ];

    private static readonly Lazy<ByteLevelBpeTokenizer> s_gpt2 = new(() => ByteLevelBpeTokenizer.FromFiles(
        Path.Combine(TokenizerFixtures.Gpt2, "vocab.json"), Path.Combine(TokenizerFixtures.Gpt2, "merges.txt")));

    private static ByteLevelBpeTokenizer Gpt2 => s_gpt2.Value;

    [Fact]
    public void Gpt2_gives_the_documented_ids_for_hello_world()
    {
        // Given the two spellings of HF's GPT-2 docs example
        // When they are encoded
        var plain = Gpt2.Encode("Hello world");
        var spaced = Gpt2.Encode(" Hello world");

        // Then the ids are the documented ones (a leading space changes the first token)
        Assert.Equal([15496, 995], plain);
        Assert.Equal([18435, 995], spaced);
    }

    [Fact]
    public void End_of_text_is_an_added_special_token_used_as_bos_and_eos()
    {
        // Given text containing GPT-2's end-of-text marker
        // When it is encoded and decoded with and without skipping special tokens
        var ids = Gpt2.Encode("hi<|endoftext|>there");
        var kept = Gpt2.Decode(ids, skipSpecialTokens: false);
        var skipped = Gpt2.Decode(ids);

        // Then the marker is one id (50256), never split by BPE, and is dropped only when skipping
        Assert.Equal([5303, 50256, 8117], ids);
        Assert.Equal("hi<|endoftext|>there", kept);
        Assert.Equal("hithere", skipped);
        Assert.Equal((50256, 50256), (Gpt2.Special.Bos, Gpt2.Special.Eos));
        Assert.Equal(50257, Gpt2.VocabularySize);
    }

    [SkippableTheory]
    [InlineData("gpt2", ByteLevelBpeSettings.Gpt2Pattern)]
    [InlineData("llama3", ByteLevelBpeSettings.Llama3Pattern)]
    [InlineData("qwen2", ByteLevelBpeSettings.Qwen2Pattern)]
    public void Ids_equal_an_independent_python_byte_level_bpe(string family, string pattern)
    {
        // Given GPT-2's vocabulary with a family's pre-tokenizer, and the Python reference
        PythonReference.Require("regex");
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("texts.json"), JsonSerializer.Serialize(s_texts));
        var tokenizer = ByteLevelBpeTokenizer.FromFiles(
            Path.Combine(TokenizerFixtures.Gpt2, "vocab.json"), Path.Combine(TokenizerFixtures.Gpt2, "merges.txt"),
            new ByteLevelBpeSettings { PreTokenizerPatterns = [pattern] });

        // When both tokenize the same texts
        var expected = JsonSerializer.Deserialize<int[][]>(PythonReference.Run(
            TokenizerFixtures.ReferenceScript, "bpe",
            Path.Combine(TokenizerFixtures.Gpt2, "vocab.json"), Path.Combine(TokenizerFixtures.Gpt2, "merges.txt"), family, temp.File("texts.json")))!;
        var actual = s_texts.Select(t => tokenizer.Encode(t)).ToArray();

        // Then every id agrees
        for (var i = 0; i < s_texts.Length; i++)
        {
            Assert.True(expected[i].SequenceEqual(actual[i]), $"text {i} '{s_texts[i]}': expected [{string.Join(',', expected[i])}], found [{string.Join(',', actual[i])}]");
        }
    }

    [Fact]
    public void Decoding_gives_back_the_exact_text()
    {
        // Given texts with whitespace runs, accents, emoji sequences and CJK
        foreach (var text in s_texts)
        {
            // When they are encoded and decoded
            var decoded = Gpt2.Decode(Gpt2.Encode(text));

            // Then the round trip is lossless (byte-level BPE never loses a byte)
            Assert.Equal(text, decoded);
        }
    }

    [Fact]
    public void Qwen2_splits_numbers_into_single_digits_and_llama3_into_threes()
    {
        // Given the Qwen2 and Llama-3 pre-tokenizers over GPT-2's vocabulary
        var vocab = Path.Combine(TokenizerFixtures.Gpt2, "vocab.json");
        var merges = Path.Combine(TokenizerFixtures.Gpt2, "merges.txt");
        var qwen = ByteLevelBpeTokenizer.FromFiles(vocab, merges, new ByteLevelBpeSettings { PreTokenizerPatterns = [ByteLevelBpeSettings.Qwen2Pattern] });
        var llama = ByteLevelBpeTokenizer.FromFiles(vocab, merges, new ByteLevelBpeSettings { PreTokenizerPatterns = [ByteLevelBpeSettings.Llama3Pattern] });

        // When a 7-digit number is encoded
        var qwenTokens = qwen.Encode("1234567").Select(id => qwen.IdToToken(id)!).ToArray();
        var llamaTokens = llama.Encode("1234567").Select(id => llama.IdToToken(id)!).ToArray();

        // Then Qwen2 has one token per digit and Llama-3 groups of up to three
        Assert.Equal(["1", "2", "3", "4", "5", "6", "7"], qwenTokens);
        Assert.Equal(["123", "456", "7"], llamaTokens);
    }
}
