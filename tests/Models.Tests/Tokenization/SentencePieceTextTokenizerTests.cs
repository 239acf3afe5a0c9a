using System.Text.Json;
using Skim.Models.Tokenization;

namespace Skim.Models.Tests.Tokenization;

/// <summary>A Llama-style SentencePiece BPE model (byte fallback) against Google's sentencepiece library.</summary>
public sealed class SentencePieceTextTokenizerTests
{
    private static readonly string[] s_texts =
    [
        "Hello world, the house 1234 café 😀",
        "the time of the world",
        "  two  spaces and a\ttab\nnewline",
        "北京 naïve",
        "",
    ];

    private static string ModelPath => Path.Combine(TokenizerFixtures.TinySentencePiece, "tokenizer.model");

    [Fact]
    public void Encoding_gives_the_ids_sentencepiece_gave_when_the_fixture_was_made()
    {
        // Given the fixture model and a text with digits, an accent and an emoji (ids recorded from
        // python3-sentencepiece 0.1.97 when the model was trained)
        var tokenizer = SentencePieceTextTokenizer.FromModelFile(ModelPath);

        // When the text is encoded with and without BOS
        var withBos = tokenizer.Encode(s_texts[0]);
        var plain = tokenizer.EncodeWithoutSpecialTokens(s_texts[0]);

        // Then the ids match, unknown characters falling back to their UTF-8 bytes (<0xC3> <0xA9> for é)
        int[] expected = [449, 498, 400, 457, 285, 274, 458, 459, 47, 329, 450, 288, 395, 450, 449, 482, 476, 480, 481, 263, 451, 467, 198, 172, 449, 243, 162, 155, 131];
        Assert.Equal(expected, plain);
        Assert.Equal([1, .. expected], withBos);
        Assert.Equal((1, 2, 0), (tokenizer.Special.Bos, tokenizer.Special.Eos, tokenizer.Special.Unk));
        Assert.Equal(512, tokenizer.VocabularySize);
    }

    [SkippableFact]
    public void Ids_equal_googles_sentencepiece_library()
    {
        // Given the model and python3-sentencepiece
        PythonReference.Require("sentencepiece");
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("texts.json"), JsonSerializer.Serialize(s_texts));
        var tokenizer = SentencePieceTextTokenizer.FromModelFile(ModelPath);

        // When both encode the same texts
        var expected = JsonSerializer.Deserialize<int[][]>(PythonReference.Run(TokenizerFixtures.ReferenceScript, "sentencepiece", ModelPath, temp.File("texts.json")))!;
        var actual = s_texts.Select(t => tokenizer.EncodeWithoutSpecialTokens(t).ToArray()).ToArray();

        // Then every id agrees
        for (var i = 0; i < s_texts.Length; i++)
        {
            Assert.True(expected[i].SequenceEqual(actual[i]), $"text {i} '{s_texts[i]}': expected [{string.Join(',', expected[i])}], found [{string.Join(',', actual[i])}]");
        }
    }

    [Fact]
    public void Decoding_restores_text_including_byte_fallback_characters()
    {
        // Given the model
        var tokenizer = SentencePieceTextTokenizer.FromModelFile(ModelPath);

        // When a text with bytes outside the vocabulary is encoded with BOS and decoded
        var decoded = tokenizer.Decode(tokenizer.Encode("Hello world, café 😀"));

        // Then the text comes back without BOS
        Assert.Equal("Hello world, café 😀", decoded);
    }

    [Fact]
    public void Add_eos_puts_eos_after_the_sequence_and_truncation_keeps_it()
    {
        // Given the model with BOS and EOS added
        var tokenizer = SentencePieceTextTokenizer.FromModelFile(ModelPath, addBos: true, addEos: true);

        // When a long text is encoded to 5 ids
        var ids = tokenizer.Encode("the time of the world", maxLength: 5);

        // Then BOS starts and EOS ends the row
        Assert.Equal(5, ids.Length);
        Assert.Equal(1, ids[0]);
        Assert.Equal(2, ids[^1]);
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_refused_with_its_path()
    {
        // Given a text file named tokenizer.model
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("tokenizer.model"), "not a protobuf at all, just some text");

        // When it is loaded
        var error = Assert.ThrowsAny<Core.SkimException>(() => SentencePieceTextTokenizer.FromModelFile(temp.File("tokenizer.model")));

        // Then the error names the file
        Assert.Contains("tokenizer.model", error.Message, StringComparison.Ordinal);
    }
}
