using Skim.Core;
using Skim.Models.Tokenization;
using Skim.Models.Vocabulary;

namespace Skim.Models.Tests.Vocabulary;

public sealed class WordPieceVocabularyBuilderTests
{
    [Fact]
    public void Special_tokens_take_the_first_ids_in_bert_order()
    {
        // Given a small corpus
        var corpus = VocabularyCorpus.Lines();

        // When a vocabulary is built
        var vocabulary = WordPieceVocabularyBuilder.Build(corpus, new VocabularyOptions { VocabSize = 200 });

        // Then [PAD] is 0 and [UNK], [CLS], [SEP], [MASK] follow
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], vocabulary.Tokens.Take(5));
    }

    [Fact]
    public void The_vocabulary_reaches_the_target_size_with_characters_continuations_and_whole_words()
    {
        // Given a corpus whose frequent words need far fewer than 120 merges
        var corpus = VocabularyCorpus.Lines();

        // When a 120-token vocabulary is built
        var vocabulary = WordPieceVocabularyBuilder.Build(corpus, new VocabularyOptions { VocabSize = 120 });

        // Then it has exactly 120 distinct tokens: single letters, ## continuations, and the commonest words
        Assert.Equal(120, vocabulary.Count);
        Assert.Equal(vocabulary.Count, vocabulary.Tokens.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("t", vocabulary.Tokens);
        Assert.Contains("##t", vocabulary.Tokens);
        Assert.Contains("the", vocabulary.Tokens);
        Assert.Contains("cat", vocabulary.Tokens);
        Assert.DoesNotContain("The", vocabulary.Tokens);
    }

    [Fact]
    public void Building_twice_gives_the_same_tokens_in_the_same_order()
    {
        // Given one corpus
        var corpus = VocabularyCorpus.Lines();

        // When it is built twice, once from a reversed line order
        var first = WordPieceVocabularyBuilder.Build(corpus, new VocabularyOptions { VocabSize = 150 });
        var second = WordPieceVocabularyBuilder.Build(corpus.Reverse(), new VocabularyOptions { VocabSize = 150 });

        // Then the vocabularies are identical (counts decide, never the order lines arrive in)
        Assert.Equal(first.Tokens, second.Tokens);
    }

    [Fact]
    public void The_written_files_load_as_an_uncased_wordpiece_tokenizer_that_splits_known_words()
    {
        // Given a vocabulary written to a folder
        using var folder = new TempDirectory();
        var vocabulary = WordPieceVocabularyBuilder.Build(VocabularyCorpus.Lines(), new VocabularyOptions { VocabSize = 150 });
        vocabulary.WriteTo(folder.Path, modelMaxLength: 64);

        // When the folder's tokenizer is loaded the way a model folder's is
        var tokenizer = TokenizerLoader.Load(folder.Path);
        var ids = tokenizer.Encode("The CAT sat, on the mat ☃");

        // Then it is WordPiece with [CLS]/[SEP] around lower-cased whole words, and an unseen character is [UNK]
        Assert.Equal(TokenizerKind.WordPiece, tokenizer.Kind);
        Assert.Equal(150, tokenizer.VocabularySize);
        Assert.Equal(0, tokenizer.Special.Pad);
        Assert.Equal(["[CLS]", "the", "cat", "sat", ",", "on", "the", "mat", "[UNK]", "[SEP]"], ids.Select(id => tokenizer.IdToToken(id)));
        Assert.Equal("the cat sat, on the mat", tokenizer.Decode(ids.Take(ids.Length - 2).Append(ids[^1])));
        Assert.True(File.Exists(folder.File("tokenizer_config.json")));
        Assert.True(File.Exists(folder.File("special_tokens_map.json")));
    }

    [Fact]
    public void A_rare_word_is_split_into_learned_pieces_with_continuation_prefixes()
    {
        // Given a vocabulary that learned "running" and "runner" but not "runnings"
        var vocabulary = WordPieceVocabularyBuilder.Build(VocabularyCorpus.Lines(), new VocabularyOptions { VocabSize = 150 });
        var tokenizer = vocabulary.ToTokenizer();

        // When an unseen word made of known pieces is tokenized
        var pieces = tokenizer.Tokenize("runnings");

        // Then it is the longest known word followed by ## pieces, which join back to the word
        Assert.Equal("running", pieces[0]);
        Assert.All(pieces.Skip(1), p => Assert.StartsWith("##", p, StringComparison.Ordinal));
        Assert.Equal("runnings", string.Concat(pieces.Select(p => p.TrimStart('#'))));
    }

    [Fact]
    public void An_empty_corpus_is_a_one_line_error_naming_it()
    {
        // Given a corpus file with only blank lines
        using var folder = new TempDirectory();
        File.WriteAllLines(folder.File("corpus.txt"), ["", "   ", "\t"]);

        // When a vocabulary is built from it
        var error = Assert.Throws<SkimFormatException>(() => WordPieceVocabularyBuilder.BuildFromFile(folder.File("corpus.txt")));

        // Then the error names the file and says why
        Assert.Contains("corpus.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("no words", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_target_smaller_than_the_special_tokens_is_refused()
    {
        // Given a target of 3 tokens
        var options = new VocabularyOptions { VocabSize = 3 };

        // When a vocabulary is built
        var error = Assert.Throws<SkimConfigException>(() => WordPieceVocabularyBuilder.Build(["hello"], options));

        // Then the option and the minimum are named
        Assert.Contains("--vocab-size 3", error.Message, StringComparison.Ordinal);
    }
}
