using System.Globalization;
using System.Text;
using Skim.Core;
using Skim.Models.Tokenization;

namespace Skim.Models.Vocabulary;

/// <summary>
/// Builds a BERT-style uncased WordPiece vocabulary from a text corpus, deterministically: the
/// special tokens in BERT's order, every character seen (word-initial and as a <c>##</c>
/// continuation), then subwords learned by merging the most frequent adjacent pieces (HF's
/// WordPiece trainer), up to the target size.
/// </summary>
public static class WordPieceVocabularyBuilder
{
    /// <summary>BERT's special tokens, in the order they take the first ids ([PAD] is 0).</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>Reads <paramref name="corpusPath"/> (UTF-8, one text per line) and builds the vocabulary.</summary>
    /// <exception cref="SkimFormatException">The file is missing, not UTF-8, or holds no word.</exception>
    public static WordPieceVocabulary BuildFromFile(string corpusPath, VocabularyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(corpusPath);
        return Build(CorpusLines.Read(corpusPath), options, corpusPath);
    }

    /// <summary>Builds the vocabulary from <paramref name="texts"/>.</summary>
    /// <param name="texts">The corpus, one text per item.</param>
    /// <param name="options">Target size and minimum pair frequency.</param>
    /// <param name="source">Names the corpus in errors.</param>
    /// <exception cref="SkimFormatException">The corpus holds no word.</exception>
    public static WordPieceVocabulary Build(IEnumerable<string> texts, VocabularyOptions? options = null, string source = "corpus")
    {
        ArgumentNullException.ThrowIfNull(texts);
        options ??= new VocabularyOptions();
        options.Validate(SpecialTokens.Count + 1);

        // Lower-cased BERT basic pre-tokenisation, exactly what the WordPiece tokenizer will apply.
        var basic = new BertBasicTokenizer(lowerCase: true);
        var wordCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        var words = new List<string>();
        foreach (var text in texts)
        {
            words.Clear();
            basic.Split(text, words);
            foreach (var word in words)
            {
                // Longer words become [UNK] whatever the vocabulary holds; they would only add noise.
                if (word.EnumerateRunes().Count() <= BertWordPieceTokenizer.MaxCharsPerWord)
                {
                    wordCounts[word] = wordCounts.GetValueOrDefault(word) + 1;
                }
            }
        }
        if (wordCounts.Count == 0)
        {
            throw new SkimFormatException(source, null, "no words to build a vocabulary from (the corpus is empty or only whitespace/control characters)");
        }

        var tokens = new List<string>(SpecialTokens);
        var known = new HashSet<string>(tokens, StringComparer.Ordinal);
        var symbolized = wordCounts
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => ((IReadOnlyList<string>)Symbols(e.Key), e.Value))
            .ToList();

        // The alphabet: most frequent first, so that a small target keeps the common characters.
        var alphabet = symbolized
            .SelectMany(w => w.Item1.Select(s => (Symbol: s, Count: w.Value)))
            .GroupBy(s => s.Symbol, StringComparer.Ordinal)
            .Select(g => (Symbol: g.Key, Count: g.Sum(s => s.Count)))
            .OrderByDescending(s => s.Count)
            .ThenBy(s => s.Symbol, StringComparer.Ordinal);
        foreach (var (symbol, _) in alphabet)
        {
            if (tokens.Count >= options.VocabSize)
            {
                break;
            }
            if (known.Add(symbol))
            {
                tokens.Add(symbol);
            }
        }

        var merger = new PairMerger(symbolized);
        while (tokens.Count < options.VocabSize && merger.MergeNext(Join, options.MinFrequency) is { } merge)
        {
            if (known.Add(merge.Merged))
            {
                tokens.Add(merge.Merged);
            }
        }
        return new WordPieceVocabulary(tokens);
    }

    // A word's first character stands alone, the rest carry the continuation prefix.
    private static string[] Symbols(string word)
    {
        var runes = word.EnumerateRunes().Select(r => r.ToString()).ToArray();
        for (var i = 1; i < runes.Length; i++)
        {
            runes[i] = "##" + runes[i];
        }
        return runes;
    }

    // "un" + "##aff" = "unaff"; "##aff" + "##able" = "##affable".
    private static string Join(string left, string right) => left + right[2..];
}

/// <summary>A WordPiece vocabulary: tokens in id order, BERT's special tokens first.</summary>
/// <param name="Tokens">The tokens; a token's id is its index.</param>
public sealed record WordPieceVocabulary(IReadOnlyList<string> Tokens)
{
    /// <summary>Gets the number of tokens.</summary>
    public int Count => Tokens.Count;

    /// <summary>Creates the WordPiece tokenizer (lower-casing, as the vocabulary was built) over these tokens.</summary>
    public BertWordPieceTokenizer ToTokenizer() => BertWordPieceTokenizer.FromTokens(Tokens, new BertWordPieceSettings { LowerCase = true });

    /// <summary>
    /// Writes the files HF's <c>BertTokenizer</c> and Skim's <see cref="TokenizerLoader"/> read:
    /// <c>vocab.txt</c>, <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c>, each atomically.
    /// </summary>
    /// <param name="folder">The folder (created if missing).</param>
    /// <param name="modelMaxLength">The longest input the model takes (its max_position_embeddings).</param>
    public void WriteTo(string folder, int modelMaxLength)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var text = new StringBuilder();
        foreach (var token in Tokens)
        {
            text.Append(token).Append('\n');
        }
        Core.IO.AtomicFile.WriteAllText(Path.Combine(folder, "vocab.txt"), text.ToString());
        var specials = new Dictionary<string, object?>
        {
            ["unk_token"] = "[UNK]",
            ["sep_token"] = "[SEP]",
            ["pad_token"] = "[PAD]",
            ["cls_token"] = "[CLS]",
            ["mask_token"] = "[MASK]",
        };
        HfTokenizerFiles.WriteJson(Path.Combine(folder, "special_tokens_map.json"), specials);
        var config = new Dictionary<string, object?>
        {
            ["tokenizer_class"] = "BertTokenizer",
            ["do_lower_case"] = true,
            ["tokenize_chinese_chars"] = true,
            ["strip_accents"] = null,
            ["model_max_length"] = modelMaxLength,
            ["clean_up_tokenization_spaces"] = true,
        };
        foreach (var (key, value) in specials)
        {
            config[key] = value;
        }
        HfTokenizerFiles.WriteJson(Path.Combine(folder, "tokenizer_config.json"), config);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"WordPiece vocabulary of {Count} tokens");
}
