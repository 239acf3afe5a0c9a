using System.Text.Json;
using Skim.Core;
using Skim.Models.Tokenization;
using Skim.Models.Vocabulary;

namespace Skim.Models.Tests.Vocabulary;

public sealed class ByteLevelBpeVocabularyBuilderTests
{
    [Fact]
    public void The_first_256_tokens_are_the_byte_symbols_in_byte_order_and_special_tokens_come_last()
    {
        // Given a small corpus and Llama's special tokens
        var corpus = VocabularyCorpus.Lines();

        // When a 400-token vocabulary is built
        var vocabulary = ByteLevelBpeVocabularyBuilder.Build(corpus, DecoderSpecialTokens.Llama, new VocabularyOptions { VocabSize = 400 });

        // Then bytes 'A', ' ' and 0xFF are ids 65, 32 and 255 in GPT-2's alphabet, and <s> </s> <pad> end the list
        Assert.Equal(400, vocabulary.Count);
        Assert.Equal("A", vocabulary.Tokens[65]);
        Assert.Equal("Ġ", vocabulary.Tokens[32]);
        Assert.Equal("ÿ", vocabulary.Tokens[255]);
        Assert.Equal("Ā", vocabulary.Tokens[0]);
        Assert.Equal(["<s>", "</s>", "<pad>"], vocabulary.Tokens.TakeLast(3));
    }

    [Fact]
    public void Merges_follow_pair_frequency_and_frequent_words_become_single_tokens()
    {
        // Given a corpus where " the" is by far the most frequent piece
        var corpus = VocabularyCorpus.Lines();

        // When a vocabulary is built
        var vocabulary = ByteLevelBpeVocabularyBuilder.Build(corpus, DecoderSpecialTokens.Qwen2, new VocabularyOptions { VocabSize = 400 });
        var tokenizer = vocabulary.ToTokenizer();

        // Then each merge's result is in the vocabulary, and " the" and " cat" are one token each
        Assert.All(vocabulary.Merges, m => Assert.Contains(m.Left + m.Right, vocabulary.Tokens));
        Assert.Single(tokenizer.EncodeWithoutSpecialTokens(" the"));
        Assert.Single(tokenizer.EncodeWithoutSpecialTokens(" cat"));
    }

    [Fact]
    public void The_first_merge_is_the_most_frequent_adjacent_pair_counted_independently()
    {
        // Given a corpus and the pair counts computed here from its GPT-2 pieces
        var corpus = new[] { "aaab abab", "ab ab ba" };
        var pieces = new[] { "aaab", " abab", "ab", " ab", " ba" };
        var counts = pieces.SelectMany(p => Enumerable.Range(0, p.Length - 1).Select(i => p.Substring(i, 2)))
            .GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());

        // When a vocabulary with one merge is built
        var vocabulary = ByteLevelBpeVocabularyBuilder.Build(corpus, DecoderSpecialTokens.Qwen2, new VocabularyOptions { VocabSize = 258, MinFrequency = 1 });

        // Then that merge is "a b", the most frequent pair (5 times)
        Assert.Equal(5, counts["ab"]);
        Assert.True(counts.Where(c => c.Key != "ab").All(c => c.Value < 5));
        Assert.Equal(("a", "b"), Assert.Single(vocabulary.Merges));
    }

    [Fact]
    public void Ties_are_broken_by_symbol_order_so_the_result_never_depends_on_line_order()
    {
        // Given a corpus where several pairs are equally frequent
        var corpus = new[] { "xy zw", "zw xy", "qr" , "qr" };

        // When it is built in two line orders
        var first = ByteLevelBpeVocabularyBuilder.Build(corpus, DecoderSpecialTokens.Qwen2, new VocabularyOptions { VocabSize = 261, MinFrequency = 1 });
        var second = ByteLevelBpeVocabularyBuilder.Build(corpus.Reverse(), DecoderSpecialTokens.Qwen2, new VocabularyOptions { VocabSize = 261, MinFrequency = 1 });

        // Then the merges are the same, tied pairs in ordinal order ("q r" before "x y")
        Assert.Equal(first.Merges, second.Merges);
        Assert.Equal(first.Tokens, second.Tokens);
        Assert.True(first.Merges.ToList().IndexOf(("q", "r")) < first.Merges.ToList().IndexOf(("x", "y")));
    }

    [Fact]
    public void The_written_files_load_as_byte_level_bpe_that_round_trips_any_text_exactly()
    {
        // Given a vocabulary with Llama's special tokens written to a folder
        using var folder = new TempDirectory();
        var vocabulary = ByteLevelBpeVocabularyBuilder.Build(VocabularyCorpus.Lines(), DecoderSpecialTokens.Llama, new VocabularyOptions { VocabSize = 400 });
        vocabulary.WriteTo(folder.Path, modelMaxLength: 256);

        // When the folder's tokenizer is loaded as a model folder's is, and texts the corpus never saw are encoded
        var tokenizer = TokenizerLoader.Load(folder.Path);
        string[] texts = ["The cat sat on the mat.", "Ünïcödé ☃ 日本語 🙂\ttabs\nand new lines  ", "", "  leading spaces", "ÿ\u0000\u007f"];

        // Then every text decodes back exactly, with BOS first, and special tokens have their ids
        Assert.Equal(TokenizerKind.ByteLevelBpe, tokenizer.Kind);
        Assert.Equal(400, tokenizer.VocabularySize);
        Assert.Equal(vocabulary.IdOf("<s>"), tokenizer.Special.Bos);
        Assert.Equal(vocabulary.IdOf("</s>"), tokenizer.Special.Eos);
        Assert.Equal(vocabulary.IdOf("<pad>"), tokenizer.Special.Pad);
        foreach (var text in texts)
        {
            var ids = tokenizer.Encode(text);
            Assert.Equal(tokenizer.Special.Bos, ids[0]);
            Assert.Equal(text, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void Special_tokens_in_text_are_matched_verbatim_and_skipped_when_decoding()
    {
        // Given the written files of a Qwen2-style vocabulary
        using var folder = new TempDirectory();
        var vocabulary = ByteLevelBpeVocabularyBuilder.Build(VocabularyCorpus.Lines(), DecoderSpecialTokens.Qwen2, new VocabularyOptions { VocabSize = 300 });
        vocabulary.WriteTo(folder.Path, modelMaxLength: 256);
        var tokenizer = TokenizerLoader.Load(folder.Path);

        // When a text containing the EOS text is encoded
        var ids = tokenizer.Encode("the cat<|endoftext|>");

        // Then there is no BOS, the EOS is one id, and decoding drops it unless asked to keep it
        Assert.Null(tokenizer.Special.Bos);
        Assert.Equal(299, tokenizer.Special.Eos);
        Assert.Equal(299, ids[^1]);
        Assert.Equal("the cat", tokenizer.Decode(ids));
        Assert.Equal("the cat<|endoftext|>", tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void The_gpt2_style_vocab_json_and_merges_txt_alone_give_the_same_ids_as_tokenizer_json()
    {
        // Given the written folder, and a copy without tokenizer.json
        using var folder = new TempDirectory();
        var vocabulary = ByteLevelBpeVocabularyBuilder.Build(VocabularyCorpus.Lines(), DecoderSpecialTokens.Qwen2, new VocabularyOptions { VocabSize = 350 });
        vocabulary.WriteTo(folder.Path, modelMaxLength: 256);
        var plain = Directory.CreateDirectory(folder.File("plain")).FullName;
        File.Copy(folder.File("vocab.json"), Path.Combine(plain, "vocab.json"));
        File.Copy(folder.File("merges.txt"), Path.Combine(plain, "merges.txt"));

        // When both load and encode one text
        const string text = "extreme classification of missing labels, 2025!";
        var fromJson = TokenizerLoader.Load(folder.Path).EncodeWithoutSpecialTokens(text);
        var fromFiles = TokenizerLoader.Load(plain).EncodeWithoutSpecialTokens(text);

        // Then the ids are equal, and tokenizer.json lists the special token as an added special token
        Assert.Equal(fromJson, fromFiles);
        using var json = JsonDocument.Parse(File.ReadAllText(folder.File("tokenizer.json")));
        var added = Assert.Single(json.RootElement.GetProperty("added_tokens").EnumerateArray());
        Assert.Equal("<|endoftext|>", added.GetProperty("content").GetString());
        Assert.True(added.GetProperty("special").GetBoolean());
        Assert.Equal("#version: 0.2", File.ReadLines(folder.File("merges.txt")).First());
    }

    [SkippableFact]
    public void The_learned_merges_equal_those_of_a_naive_python_trainer_that_recounts_every_pair_each_step()
    {
        // Given an ASCII corpus (so that Python's re can apply GPT-2's pattern) written to a file
        PythonReference.Require("json", "re");
        using var folder = new TempDirectory();
        var corpus = VocabularyCorpus.Lines(400);
        File.WriteAllText(folder.File("corpus.json"), JsonSerializer.Serialize(corpus));

        // When the incremental trainer learns up to 500 tokens, and Python recounts all pairs before each merge
        var vocabulary = ByteLevelBpeVocabularyBuilder.Build(corpus, DecoderSpecialTokens.Qwen2, new VocabularyOptions { VocabSize = 500 });
        var python = PythonReference.RunCode(NaiveBpe, folder.File("corpus.json"), vocabulary.Merges.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var expected = JsonSerializer.Deserialize<string[][]>(python)!;

        // Then both give the same merges in the same order (ties: higher count, then smaller left, then smaller right)
        Assert.True(vocabulary.Merges.Count > 100, $"only {vocabulary.Merges.Count} merges");
        Assert.Equal(expected.Select(m => $"{m[0]} {m[1]}"), vocabulary.Merges.Select(m => $"{m.Left} {m.Right}"));
    }

    // GPT-2's pre-tokenizer on ASCII text, spaces written as GPT-2's byte symbol, then textbook BPE.
    private const string NaiveBpe = """
        import json, re, sys
        from collections import Counter
        pattern = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")
        lines = json.load(open(sys.argv[1], encoding="utf-8"))
        wanted = int(sys.argv[2])
        counts = Counter(piece.replace(" ", "\u0120") for line in lines for piece in pattern.findall(line))
        words = {tuple(w): c for w, c in counts.items()}
        merges = []
        while len(merges) < wanted:
            pairs = Counter()
            for w, c in words.items():
                for a, b in zip(w, w[1:]):
                    pairs[(a, b)] += c
            if not pairs:
                break
            best = min(pairs, key=lambda p: (-pairs[p], p[0], p[1]))
            if pairs[best] < 2:
                break
            merges.append(best)
            merged = {}
            for w, c in words.items():
                out, i = [], 0
                while i < len(w):
                    if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                        out.append(w[i] + w[i + 1]); i += 2
                    else:
                        out.append(w[i]); i += 1
                merged[tuple(out)] = merged.get(tuple(out), 0) + c
            words = merged
        print(json.dumps(merges))
        """;

    [Fact]
    public void A_target_below_256_bytes_plus_special_tokens_is_refused()
    {
        // Given a target that cannot hold the byte symbols
        var options = new VocabularyOptions { VocabSize = 200 };

        // When a vocabulary is built
        var error = Assert.Throws<SkimConfigException>(() => ByteLevelBpeVocabularyBuilder.Build(["hello"], DecoderSpecialTokens.Llama, options));

        // Then the minimum (256 + 3) is named
        Assert.Contains("at least 259", error.Message, StringComparison.Ordinal);
    }
}
