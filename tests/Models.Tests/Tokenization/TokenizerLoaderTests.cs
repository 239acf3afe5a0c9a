using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Models.Tokenization;

namespace Skim.Models.Tests.Tokenization;

/// <summary>Picking the tokenizer kind from a model folder's files, and the errors when they are absent.</summary>
public sealed class TokenizerLoaderTests
{
    private static string Fixture(string folder, string file) => Path.Combine(TokenizerFixtures.Root, folder, file);

    [Fact]
    public void A_folder_with_vocab_txt_gives_uncased_wordpiece()
    {
        // Given bert-base-uncased's folder
        // When it is loaded
        var tokenizer = TokenizerLoader.Load(TokenizerFixtures.BertBaseUncased);

        // Then it is WordPiece with [CLS] … [SEP]
        Assert.Equal(TokenizerKind.WordPiece, tokenizer.Kind);
        Assert.Equal([101, 7592, 1010, 2026, 3899, 2003, 10140, 102], tokenizer.Encode("Hello, my dog is cute"));
    }

    [Fact]
    public void Do_lower_case_false_in_tokenizer_config_makes_wordpiece_cased()
    {
        // Given the vocabulary with a tokenizer_config.json saying do_lower_case false
        using var temp = new TempDirectory();
        File.Copy(Fixture("bert-base-uncased", "vocab.txt"), temp.File("vocab.txt"));
        File.WriteAllText(temp.File("tokenizer_config.json"), """{"do_lower_case": false, "model_max_length": 512}""");

        // When it is loaded and a capitalised word is tokenized
        var tokenizer = TokenizerLoader.Load(temp.Path);
        var ids = tokenizer.EncodeWithoutSpecialTokens("Hello hello");

        // Then "Hello" is not lower-cased (the uncased vocabulary has no such word: it splits), "hello" is one piece
        Assert.NotEqual(7592, ids[0]);
        Assert.Equal(7592, ids[^1]);
    }

    [Fact]
    public void A_folder_with_vocab_json_and_merges_gives_byte_level_bpe_with_specials_from_the_config()
    {
        // Given GPT-2's files plus a config.json naming the pad id and a tokenizer_config adding BOS
        using var temp = new TempDirectory();
        File.Copy(Fixture("gpt2", "vocab.json"), temp.File("vocab.json"));
        File.Copy(Fixture("gpt2", "merges.txt"), temp.File("merges.txt"));
        File.WriteAllText(temp.File("tokenizer_config.json"), """{"add_bos_token": true, "bos_token": {"content": "<|endoftext|>"}}""");
        File.WriteAllText(temp.File("config.json"), """{"model_type": "gpt2", "pad_token_id": 50256, "eos_token_id": [50256]}""");

        // When it is loaded
        var tokenizer = TokenizerLoader.Load(temp.Path);

        // Then it is byte-level BPE that puts BOS first and pads with the configured id
        Assert.Equal(TokenizerKind.ByteLevelBpe, tokenizer.Kind);
        Assert.Equal([50256, 15496, 995], tokenizer.Encode("Hello world"));
        Assert.Equal(50256, tokenizer.Special.PaddingId);
    }

    [Fact]
    public void A_llama3_style_tokenizer_json_uses_its_split_regex_template_and_added_tokens()
    {
        // Given a tokenizer.json in Llama-3's layout over GPT-2's real vocabulary
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("tokenizer.json"), Llama3StyleTokenizerJson());

        // When it is loaded and a text with a number and an added token is encoded
        var tokenizer = TokenizerLoader.Load(temp.Path);
        var ids = tokenizer.Encode("Hello 1234567<|eot_id|>");

        // Then <|begin_of_text|> (50257) is prepended, digits go in threes, <|eot_id|> is one id
        Assert.Equal(TokenizerKind.ByteLevelBpe, tokenizer.Kind);
        Assert.Equal(50257, ids[0]);
        Assert.Equal(50258, ids[^1]);
        Assert.Equal(["Hello", "Ġ", "123", "456", "7"], ids[1..^1].Select(id => tokenizer.IdToToken(id)!).ToArray());
        Assert.Equal("Hello 1234567", tokenizer.Decode(ids));
        Assert.Equal(50259, tokenizer.VocabularySize);
    }

    [Fact]
    public void A_wordpiece_tokenizer_json_follows_its_bert_normalizer()
    {
        // Given a tokenizer.json with a WordPiece model and lowercase false in its BertNormalizer
        using var temp = new TempDirectory();
        var tokens = File.ReadAllLines(Fixture("bert-base-uncased", "vocab.txt"));
        var vocab = new JsonObject();
        for (var i = 0; i < tokens.Length; i++)
        {
            vocab[tokens[i]] = i;
        }
        var json = new JsonObject
        {
            ["normalizer"] = new JsonObject { ["type"] = "BertNormalizer", ["lowercase"] = false, ["strip_accents"] = false, ["handle_chinese_chars"] = true },
            ["model"] = new JsonObject { ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["continuing_subword_prefix"] = "##", ["vocab"] = vocab },
        };
        File.WriteAllText(temp.File("tokenizer.json"), json.ToJsonString());

        // When "Café" and "cafe" are tokenized
        var tokenizer = TokenizerLoader.Load(temp.Path);
        var ids = tokenizer.EncodeWithoutSpecialTokens("cafe Café");

        // Then "cafe" is found and "Café" (not lower-cased, accent kept) is not that id
        Assert.Equal(TokenizerKind.WordPiece, tokenizer.Kind);
        Assert.Equal(7668, ids[0]);
        Assert.DoesNotContain(7668, ids.Skip(1));
    }

    [Fact]
    public void A_folder_with_tokenizer_model_gives_sentencepiece_with_bos()
    {
        // Given the SentencePiece fixture folder
        // When it is loaded
        var tokenizer = TokenizerLoader.Load(TokenizerFixtures.TinySentencePiece);

        // Then it is SentencePiece and adds BOS like Llama
        Assert.Equal(TokenizerKind.SentencePiece, tokenizer.Kind);
        Assert.Equal(1, tokenizer.Encode("the")[0]);
    }

    [Fact]
    public void An_empty_folder_names_the_files_it_expected()
    {
        // Given an empty folder
        using var temp = new TempDirectory();

        // When it is loaded
        var error = Assert.Throws<SkimFormatException>(() => TokenizerLoader.Load(temp.Path));

        // Then the one-line error names the folder and the expected files
        Assert.Equal($"{temp.Path}: no tokenizer files (expected vocab.txt, tokenizer.json, tokenizer.model, or vocab.json + merges.txt)", error.Message);
    }

    [Fact]
    public void A_missing_folder_and_a_lone_vocab_json_are_refused()
    {
        // Given a path that does not exist and a folder with vocab.json only
        using var temp = new TempDirectory();
        File.Copy(Fixture("gpt2", "vocab.json"), temp.File("vocab.json"));

        // When they are loaded
        var missing = Assert.Throws<SkimFormatException>(() => TokenizerLoader.Load(temp.File("nope")));
        var lone = Assert.Throws<SkimFormatException>(() => TokenizerLoader.Load(temp.Path));

        // Then each error says what is wrong
        Assert.EndsWith("nope: tokenizer directory not found", missing.Message, StringComparison.Ordinal);
        Assert.Contains("merges.txt is missing", lone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sentencepiece_style_tokenizer_json_without_a_model_file_is_refused_by_name()
    {
        // Given a tokenizer.json with a BPE model but a Metaspace pre-tokenizer (Llama-2's layout)
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("tokenizer.json"), """{"pre_tokenizer": {"type": "Metaspace"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""");

        // When it is loaded
        var error = Assert.Throws<SkimFormatException>(() => TokenizerLoader.Load(temp.Path));

        // Then the error says why and what to use instead
        Assert.Contains("tokenizer.model", error.Message, StringComparison.Ordinal);
        Assert.Contains("SentencePiece-style", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_json_names_the_file_and_line()
    {
        // Given a tokenizer_config.json cut in the middle
        using var temp = new TempDirectory();
        File.Copy(Fixture("bert-base-uncased", "vocab.txt"), temp.File("vocab.txt"));
        File.WriteAllText(temp.File("tokenizer_config.json"), "{\n\"do_lower_case\": tru");

        // When the folder is loaded
        var error = Assert.Throws<SkimFormatException>(() => TokenizerLoader.Load(temp.Path));

        // Then the error names the file and line 2
        Assert.StartsWith(temp.File("tokenizer_config.json") + ": line 2: not valid JSON", error.Message, StringComparison.Ordinal);
    }

    private static string Llama3StyleTokenizerJson()
    {
        var vocab = JsonNode.Parse(File.ReadAllText(Fixture("gpt2", "vocab.json")))!;
        var merges = new JsonArray();
        foreach (var line in File.ReadLines(Fixture("gpt2", "merges.txt")).Skip(1).Where(l => l.Length > 0))
        {
            var pair = line.Split(' ');
            merges.Add(new JsonArray(pair[0], pair[1]));
        }
        var json = new JsonObject
        {
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 50257, ["content"] = "<|begin_of_text|>", ["special"] = true },
                new JsonObject { ["id"] = 50258, ["content"] = "<|eot_id|>", ["special"] = true }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = ByteLevelBpeSettings.Llama3Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["processors"] = new JsonArray(
                    new JsonObject { ["type"] = "ByteLevel" },
                    new JsonObject
                    {
                        ["type"] = "TemplateProcessing",
                        ["single"] = new JsonArray(
                            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = 0 } },
                            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                    }),
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["ignore_merges"] = true, ["vocab"] = vocab, ["merges"] = merges },
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }
}
