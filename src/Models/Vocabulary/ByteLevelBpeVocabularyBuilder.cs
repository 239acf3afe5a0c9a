using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Skim.Core;
using Skim.Models.Tokenization;

namespace Skim.Models.Vocabulary;

/// <summary>
/// Builds a GPT-2-style byte-level BPE vocabulary from a text corpus, deterministically: the 256
/// byte symbols first (id = byte value, in GPT-2's byte alphabet), then merges learned by pair
/// frequency over GPT-2's pre-tokenised pieces (ties broken by ordinal order), then the special
/// tokens. Every byte has a symbol, so any text encodes and decodes back exactly.
/// </summary>
public static class ByteLevelBpeVocabularyBuilder
{
    /// <summary>The number of base symbols: one per byte value.</summary>
    public const int ByteSymbols = 256;

    private static readonly string[] s_byteSymbols = ByteSymbolTable();

    private static readonly Regex s_preTokenizer = new(ByteLevelBpeSettings.Gpt2Pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled);

    /// <summary>Reads <paramref name="corpusPath"/> (UTF-8, one text per line) and builds the vocabulary.</summary>
    /// <exception cref="SkimFormatException">The file is missing or not UTF-8.</exception>
    public static ByteLevelBpeVocabulary BuildFromFile(string corpusPath, DecoderSpecialTokens specialTokens, VocabularyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(corpusPath);
        return Build(CorpusLines.Read(corpusPath), specialTokens, options);
    }

    /// <summary>Builds the vocabulary from <paramref name="texts"/>.</summary>
    /// <param name="texts">The corpus, one text per item.</param>
    /// <param name="specialTokens">The special tokens appended after the learned tokens.</param>
    /// <param name="options">Target size (special tokens included) and minimum pair frequency.</param>
    public static ByteLevelBpeVocabulary Build(IEnumerable<string> texts, DecoderSpecialTokens specialTokens, VocabularyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(specialTokens);
        specialTokens.Validate();
        options ??= new VocabularyOptions();
        var specials = specialTokens.Distinct;
        options.Validate(ByteSymbols + specials.Count);

        var pieceCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            foreach (var piece in PreTokenize(text))
            {
                var mapped = ByteLevelAlphabet.Encode(piece);
                pieceCounts[mapped] = pieceCounts.GetValueOrDefault(mapped) + 1;
            }
        }

        var tokens = new List<string>(options.VocabSize);
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var symbol in s_byteSymbols)
        {
            tokens.Add(symbol);
            known.Add(symbol);
        }

        var merges = new List<(string Left, string Right)>();
        var learnBudget = options.VocabSize - specials.Count;
        var merger = new PairMerger([.. pieceCounts
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => ((IReadOnlyList<string>)[.. e.Key.Select(c => c.ToString())], e.Value))]);
        while (tokens.Count < learnBudget && merger.MergeNext(static (l, r) => l + r, options.MinFrequency) is { } merge)
        {
            merges.Add((merge.Left, merge.Right));
            if (known.Add(merge.Merged))
            {
                tokens.Add(merge.Merged);
            }
        }
        foreach (var special in specials)
        {
            if (!known.Add(special))
            {
                throw new SkimConfigException($"special token '{special}' collides with a learned token");
            }
            tokens.Add(special);
        }
        return new ByteLevelBpeVocabulary(tokens, merges, specialTokens);
    }

    // HF Split(behavior=Isolated) with GPT-2's pattern: the matches and whatever lies between them.
    private static IEnumerable<string> PreTokenize(string text)
    {
        var last = 0;
        foreach (Match match in s_preTokenizer.Matches(text))
        {
            if (match.Length == 0)
            {
                continue;
            }
            if (match.Index > last)
            {
                yield return text[last..match.Index];
            }
            yield return match.Value;
            last = match.Index + match.Length;
        }
        if (last < text.Length)
        {
            yield return text[last..];
        }
    }

    // The symbol of every byte value, in byte order, read from the tokenizer's own byte alphabet
    // (the characters U+0000..U+01FF cover it: GPT-2's map ends at U+0143).
    private static string[] ByteSymbolTable()
    {
        var table = new string[ByteSymbols];
        var bytes = new List<byte>(1);
        for (var c = 0; c < 0x200; c++)
        {
            bytes.Clear();
            var text = ((char)c).ToString();
            if (ByteLevelAlphabet.TryDecode(text, bytes))
            {
                table[bytes[0]] = text;
            }
        }
        return table;
    }
}

/// <summary>A byte-level BPE vocabulary: tokens in id order, merges in rank order, and its special tokens.</summary>
/// <param name="Tokens">The tokens in GPT-2's byte alphabet (special tokens verbatim); a token's id is its index.</param>
/// <param name="Merges">The learned merges, highest priority first.</param>
/// <param name="SpecialTokens">The special tokens and whether BOS starts a sequence.</param>
public sealed record ByteLevelBpeVocabulary(IReadOnlyList<string> Tokens, IReadOnlyList<(string Left, string Right)> Merges, DecoderSpecialTokens SpecialTokens)
{
    /// <summary>Gets the number of tokens, special tokens included.</summary>
    public int Count => Tokens.Count;

    /// <summary>Gets the id of a special token (or any token).</summary>
    public int? IdOf(string? token)
    {
        for (var i = 0; token is not null && i < Tokens.Count; i++)
        {
            if (Tokens[i] == token)
            {
                return i;
            }
        }
        return null;
    }

    /// <summary>Creates the tokenizer these files describe (GPT-2 pre-tokenisation, special tokens matched verbatim).</summary>
    public ByteLevelBpeTokenizer ToTokenizer()
    {
        var vocabulary = Tokens.Select((t, i) => (t, i)).ToDictionary(e => e.t, e => e.i, StringComparer.Ordinal);
        return ByteLevelBpeTokenizer.Create(vocabulary, Merges.Select(m => $"{m.Left} {m.Right}"), new ByteLevelBpeSettings
        {
            AddedTokens = [.. SpecialTokens.Distinct.Select(s => new AddedToken(s, vocabulary[s], true))],
            SpecialTokens = new SpecialTokenNames { Bos = SpecialTokens.Bos, Eos = SpecialTokens.Eos, Pad = SpecialTokens.Pad },
            PrefixTokens = SpecialTokens.AddBos ? [SpecialTokens.Bos!] : [],
        });
    }

    /// <summary>
    /// Writes the files of a Hugging Face fast tokenizer, each atomically: <c>tokenizer.json</c>
    /// (BPE model, ByteLevel pre-tokenizer and decoder, the special tokens as added tokens, BOS in the
    /// post-processor template), GPT-2's <c>vocab.json</c> + <c>merges.txt</c>,
    /// <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c>.
    /// </summary>
    /// <param name="folder">The folder (created if missing).</param>
    /// <param name="modelMaxLength">The longest input the model takes (its max_position_embeddings).</param>
    public void WriteTo(string folder, int modelMaxLength)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Tokens.Count; i++)
        {
            vocabulary[Tokens[i]] = i;
        }
        HfTokenizerFiles.WriteJson(Path.Combine(folder, "vocab.json"), vocabulary);
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in Merges)
        {
            merges.Append(left).Append(' ').Append(right).Append('\n');
        }
        Core.IO.AtomicFile.WriteAllText(Path.Combine(folder, "merges.txt"), merges.ToString());

        var specials = SpecialTokens.Distinct;
        var added = specials.Select(s => new Dictionary<string, object?>
        {
            ["id"] = vocabulary[s],
            ["content"] = s,
            ["single_word"] = false,
            ["lstrip"] = false,
            ["rstrip"] = false,
            ["normalized"] = false,
            ["special"] = true,
        }).ToList();
        var byteLevel = new Dictionary<string, object?> { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        var tokenizer = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel,
            ["post_processor"] = PostProcessor(vocabulary),
            ["decoder"] = byteLevel,
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocabulary,
                ["merges"] = Merges.Select(m => $"{m.Left} {m.Right}").ToList(),
            },
        };
        HfTokenizerFiles.WriteJson(Path.Combine(folder, "tokenizer.json"), tokenizer);

        var map = new Dictionary<string, object?>();
        if (SpecialTokens.Bos is { } bos)
        {
            map["bos_token"] = bos;
        }
        map["eos_token"] = SpecialTokens.Eos;
        if (SpecialTokens.Pad is { } pad)
        {
            map["pad_token"] = pad;
        }
        HfTokenizerFiles.WriteJson(Path.Combine(folder, "special_tokens_map.json"), map);
        var config = new Dictionary<string, object?>
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["model_max_length"] = modelMaxLength,
            ["clean_up_tokenization_spaces"] = false,
            ["added_tokens_decoder"] = added.ToDictionary(
                a => ((int)a["id"]!).ToString(CultureInfo.InvariantCulture),
                a => (object?)a.Where(e => e.Key != "id").ToDictionary(e => e.Key, e => e.Value)),
        };
        foreach (var (key, value) in map)
        {
            config[key] = value;
        }
        HfTokenizerFiles.WriteJson(Path.Combine(folder, "tokenizer_config.json"), config);
    }

    // BOS before each sequence through a template (as Llama-3's tokenizer.json does it), or GPT-2's plain ByteLevel processor.
    private Dictionary<string, object?> PostProcessor(Dictionary<string, int> vocabulary)
    {
        if (!SpecialTokens.AddBos)
        {
            return new Dictionary<string, object?> { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true };
        }
        var bos = SpecialTokens.Bos!;
        object Special() => new Dictionary<string, object?> { ["SpecialToken"] = new Dictionary<string, object?> { ["id"] = bos, ["type_id"] = 0 } };
        object Sequence(string id) => new Dictionary<string, object?> { ["Sequence"] = new Dictionary<string, object?> { ["id"] = id, ["type_id"] = 0 } };
        return new Dictionary<string, object?>
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new[] { Special(), Sequence("A") },
            ["pair"] = new[] { Special(), Sequence("A"), Special(), Sequence("B") },
            ["special_tokens"] = new Dictionary<string, object?>
            {
                [bos] = new Dictionary<string, object?> { ["id"] = bos, ["ids"] = new[] { vocabulary[bos] }, ["tokens"] = new[] { bos } },
            },
        };
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"byte-level BPE vocabulary of {Count} tokens ({Merges.Count} merges)");
}
