using System.Text;
using System.Text.Json;
using Skim.Core;
using Skim.Models.Tokenization;

namespace Skim.Generate.Gguf;

/// <summary>
/// A model folder's tokenizer as llama.cpp's GGUF metadata spells it: byte-level BPE
/// (<c>tokenizer.ggml.model = gpt2</c>: tokens in GPT-2's byte alphabet, merges, and the name of a
/// pre-tokenizer llama.cpp implements) or SentencePiece (<c>llama</c>: pieces, scores, piece types),
/// with the special token ids and whether BOS/EOS are added. Which files are read follows
/// <see cref="TokenizerLoader"/>, so the GGUF describes the tokenizer Skim itself uses.
/// </summary>
internal sealed record GgufVocabulary
{
    // llama.cpp's llama_token_type values (the same numbers as SentencePiece's piece types).
    public const int Normal = 1;
    public const int Unknown = 2;
    public const int Control = 3;
    public const int UserDefined = 4;
    public const int Unused = 5;
    public const int Byte = 6;

    private static readonly string[] s_tokenizerFiles = ["tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt"];

    public required string Model { get; init; }

    public string? PreTokenizer { get; init; }

    public required List<string> Tokens { get; init; }

    public required List<int> TokenTypes { get; init; }

    public List<float>? Scores { get; init; }

    public List<string>? Merges { get; init; }

    public int? Bos { get; init; }

    public int? Eos { get; init; }

    public int? Pad { get; init; }

    public int? Unk { get; init; }

    public bool AddBos { get; init; }

    public bool AddEos { get; init; }

    public bool? AddSpacePrefix { get; init; }

    public bool? RemoveExtraWhitespaces { get; init; }

    /// <summary>Reads the tokenizer of <paramref name="folder"/>, padding the token list to <paramref name="modelVocabSize"/> ids.</summary>
    /// <exception cref="SkimFormatException">The folder has no tokenizer, or one llama.cpp cannot reproduce.</exception>
    public static GgufVocabulary Read(string folder, int modelVocabSize)
    {
        if (!s_tokenizerFiles.Any(n => File.Exists(Path.Combine(folder, n))))
        {
            throw new SkimFormatException(folder, null, "the model has no tokenizer files (expected tokenizer.json, tokenizer.model, or vocab.json + merges.txt); a GGUF file must carry the vocabulary");
        }
        // Skim's own loader decides the special ids and BOS/EOS handling, and proves the files load.
        var loaded = TokenizerLoader.Load(folder);
        var json = Path.Combine(folder, "tokenizer.json");
        GgufVocabulary vocabulary;
        if (File.Exists(json) && IsByteLevelBpe(json))
        {
            vocabulary = FromTokenizerJson(json);
        }
        else if (File.Exists(Path.Combine(folder, "tokenizer.model")))
        {
            vocabulary = FromSentencePiece(Path.Combine(folder, "tokenizer.model"));
        }
        else if (loaded.Kind == TokenizerKind.ByteLevelBpe && File.Exists(Path.Combine(folder, "vocab.json")))
        {
            vocabulary = FromVocabAndMerges(Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"), loaded);
        }
        else
        {
            throw new SkimFormatException(folder, null, $"the {loaded.Kind} tokenizer has no GGUF form (expected byte-level BPE or SentencePiece)");
        }
        var size = Math.Max(modelVocabSize, vocabulary.Tokens.Count);
        if (loaded.VocabularySize > modelVocabSize)
        {
            throw new SkimFormatException(folder, null, $"the tokenizer has {loaded.VocabularySize} ids but config.json's vocab_size is {modelVocabSize}");
        }
        for (var id = vocabulary.Tokens.Count; id < size; id++)
        {
            // The embedding matrix has rows the tokenizer never produces (vocab_size rounded up); llama.cpp needs a token per row.
            vocabulary.Tokens.Add($"[PAD{id}]");
            vocabulary.TokenTypes.Add(Unused);
            vocabulary.Scores?.Add(0f);
        }
        return vocabulary with
        {
            Bos = loaded.Special.Bos,
            Eos = loaded.Special.Eos,
            Pad = loaded.Special.Pad,
            Unk = loaded.Special.Unk ?? vocabulary.Unk,
            AddBos = loaded.PrefixIds.Count > 0,
            AddEos = loaded.SuffixIds.Count > 0,
        };
    }

    private static bool IsByteLevelBpe(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        var type = model.TryGetProperty("type", out var t) ? t.GetString() : model.TryGetProperty("merges", out _) ? "BPE" : null;
        return type == "BPE" && ContainsByteLevel(root, "pre_tokenizer");
    }

    private static bool ContainsByteLevel(JsonElement root, string key) =>
        root.TryGetProperty(key, out var element) && element.ValueKind == JsonValueKind.Object && element.GetRawText().Contains("\"ByteLevel\"", StringComparison.Ordinal);

    private static GgufVocabulary FromTokenizerJson(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var model = root.GetProperty("model");
        var byId = new SortedDictionary<int, (string Token, int Type)>();
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            byId[entry.Value.GetInt32()] = (entry.Name, Normal);
        }
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                var special = token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                byId[token.GetProperty("id").GetInt32()] = (token.GetProperty("content").GetString()!, special ? Control : UserDefined);
            }
        }
        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var merge in list.EnumerateArray())
            {
                merges.Add(merge.ValueKind == JsonValueKind.Array ? $"{merge[0].GetString()} {merge[1].GetString()}" : merge.GetString()!);
            }
        }
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object
            && normalizer.TryGetProperty("type", out var normalizerType) && normalizerType.GetString() != "NFC")
        {
            throw new SkimFormatException(path, "normalizer", $"normalizer '{normalizerType.GetString()}' has no llama.cpp equivalent");
        }
        var patterns = new List<string>();
        var addPrefixSpace = false;
        CollectPatterns(root.GetProperty("pre_tokenizer"), patterns, ref addPrefixSpace, path);
        if (addPrefixSpace)
        {
            throw new SkimFormatException(path, "pre_tokenizer", "add_prefix_space is not supported by llama.cpp's byte-level BPE");
        }
        var (tokens, types) = Dense(byId, path);
        return new GgufVocabulary
        {
            Model = "gpt2",
            PreTokenizer = PreTokenizerName(patterns, path),
            Tokens = tokens,
            TokenTypes = types,
            Merges = merges,
        };
    }

    private static GgufVocabulary FromVocabAndMerges(string vocabPath, string mergesPath, ITextTokenizer loaded)
    {
        var byId = new SortedDictionary<int, (string Token, int Type)>();
        using (var document = JsonDocument.Parse(File.ReadAllBytes(vocabPath)))
        {
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                byId[entry.Value.GetInt32()] = (entry.Name, Normal);
            }
        }
        foreach (var id in new[] { loaded.Special.Bos, loaded.Special.Eos, loaded.Special.Pad, loaded.Special.Unk }.OfType<int>())
        {
            byId[id] = (byId[id].Token, Control);
        }
        var merges = File.ReadLines(mergesPath, Encoding.UTF8)
            .Where((line, i) => line.Length > 0 && !(i == 0 && line.StartsWith("#version", StringComparison.Ordinal)))
            .ToList();
        var (tokens, types) = Dense(byId, vocabPath);
        return new GgufVocabulary { Model = "gpt2", PreTokenizer = "gpt-2", Tokens = tokens, TokenTypes = types, Merges = merges };
    }

    private static (List<string> Tokens, List<int> Types) Dense(SortedDictionary<int, (string Token, int Type)> byId, string path)
    {
        var size = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        var tokens = new List<string>(size);
        var types = new List<int>(size);
        for (var id = 0; id < size; id++)
        {
            if (byId.TryGetValue(id, out var entry))
            {
                tokens.Add(entry.Token);
                types.Add(entry.Type);
            }
            else
            {
                // A hole in the ids; llama.cpp needs a (never produced) token for it.
                tokens.Add($"[PAD{id}]");
                types.Add(Unused);
            }
        }
        if (tokens.Count == 0)
        {
            throw new SkimFormatException(path, "model.vocab", "the vocabulary is empty");
        }
        return (tokens, types);
    }

    // The regexes HF's pre-tokenizer applies in turn, as Skim's TokenizerJson reads them.
    private static void CollectPatterns(JsonElement element, List<string> patterns, ref bool addPrefixSpace, string path)
    {
        var type = element.TryGetProperty("type", out var t) ? t.GetString() : null;
        switch (type)
        {
            case "Sequence":
                foreach (var inner in element.GetProperty("pretokenizers").EnumerateArray())
                {
                    CollectPatterns(inner, patterns, ref addPrefixSpace, path);
                }
                break;
            case "ByteLevel":
                addPrefixSpace |= element.TryGetProperty("add_prefix_space", out var a) && a.ValueKind == JsonValueKind.True;
                if (!element.TryGetProperty("use_regex", out var r) || r.ValueKind != JsonValueKind.False)
                {
                    patterns.Add(ByteLevelBpeSettings.Gpt2Pattern);
                }
                break;
            case "Split":
                var pattern = element.GetProperty("pattern");
                patterns.Add(pattern.TryGetProperty("Regex", out var regex) ? regex.GetString()! : System.Text.RegularExpressions.Regex.Escape(pattern.GetProperty("String").GetString()!));
                break;
            case "Digits":
                patterns.Add(element.TryGetProperty("individual_digits", out var d) && d.ValueKind == JsonValueKind.True ? @"\p{N}" : @"\p{N}+");
                break;
            default:
                throw new SkimFormatException(path, "pre_tokenizer", $"pre-tokenizer '{type}' has no llama.cpp equivalent");
        }
    }

    // The llama.cpp pre-tokenizer names (tokenizer.ggml.pre) whose regexes equal HF's.
    private static string PreTokenizerName(List<string> patterns, string path) => patterns switch
    {
        [ByteLevelBpeSettings.Gpt2Pattern] => "gpt-2",
        [@"\p{N}", ByteLevelBpeSettings.Gpt2Pattern] => "smollm",
        [ByteLevelBpeSettings.Llama3Pattern] => "llama-bpe",
        [ByteLevelBpeSettings.Qwen2Pattern] => "qwen2",
        _ => throw new SkimFormatException(path, "pre_tokenizer", $"the pre-tokenizer regexes [{string.Join(", ", patterns)}] match none llama.cpp implements (GPT-2, SmolLM, Llama-3, Qwen2)"),
    };

    // SentencePiece's ModelProto, read with a minimal protobuf decoder: field 1 is the repeated
    // pieces (piece = 1, score = 2, type = 3), field 2 the trainer spec (model_type = 3), field 3 the
    // normalizer spec (add_dummy_prefix = 3, remove_extra_whitespaces = 4).
    private static GgufVocabulary FromSentencePiece(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var tokens = new List<string>();
        var types = new List<int>();
        var scores = new List<float>();
        var modelType = 1; // UNIGRAM unless the trainer spec says otherwise
        bool addDummyPrefix = true, removeExtraWhitespaces = true;
        int? unk = null;
        try
        {
            foreach (var (field, wire, value, data) in Protobuf.Fields(bytes))
            {
                if (field == 1 && wire == 2)
                {
                    string piece = "";
                    float score = 0;
                    var type = Normal;
                    foreach (var (f, w, v, d) in Protobuf.Fields(data))
                    {
                        switch (f)
                        {
                            case 1 when w == 2: piece = Encoding.UTF8.GetString(d); break;
                            case 2 when w == 5: score = BitConverter.Int32BitsToSingle((int)v); break;
                            case 3 when w == 0: type = (int)v; break;
                            default: break;
                        }
                    }
                    if (type == Unknown)
                    {
                        unk ??= tokens.Count;
                    }
                    tokens.Add(piece);
                    types.Add(type);
                    scores.Add(score);
                }
                else if (field == 2 && wire == 2)
                {
                    foreach (var (f, w, v, _) in Protobuf.Fields(data))
                    {
                        if (f == 3 && w == 0)
                        {
                            modelType = (int)v;
                        }
                    }
                }
                else if (field == 3 && wire == 2)
                {
                    foreach (var (f, w, v, _) in Protobuf.Fields(data))
                    {
                        if (f == 3 && w == 0)
                        {
                            addDummyPrefix = v != 0;
                        }
                        else if (f == 4 && w == 0)
                        {
                            removeExtraWhitespaces = v != 0;
                        }
                    }
                }
            }
        }
        catch (FormatException e)
        {
            throw new SkimFormatException(path, null, $"not a readable SentencePiece model ({e.Message})");
        }
        if (modelType != 2)
        {
            throw new SkimFormatException(path, "trainer_spec.model_type", $"SentencePiece model type {(modelType == 1 ? "UNIGRAM" : modelType.ToString(System.Globalization.CultureInfo.InvariantCulture))} is not reproduced by llama.cpp's tokenizer (expected BPE, as Llama-2 and Mistral use)");
        }
        return new GgufVocabulary
        {
            Model = "llama",
            PreTokenizer = "default",
            Tokens = tokens,
            TokenTypes = types,
            Scores = scores,
            Unk = unk,
            AddSpacePrefix = addDummyPrefix,
            RemoveExtraWhitespaces = removeExtraWhitespaces,
        };
    }

    /// <summary>The few protobuf wire-format rules a SentencePiece model needs.</summary>
    private static class Protobuf
    {
        public static IEnumerable<(int Field, int Wire, ulong Value, byte[] Data)> Fields(byte[] buffer)
        {
            var position = 0;
            while (position < buffer.Length)
            {
                var key = Varint(buffer, ref position);
                var field = (int)(key >> 3);
                var wire = (int)(key & 7);
                switch (wire)
                {
                    case 0:
                        yield return (field, wire, Varint(buffer, ref position), []);
                        break;
                    case 1:
                        Need(buffer, position, 8);
                        yield return (field, wire, BitConverter.ToUInt64(buffer, position), []);
                        position += 8;
                        break;
                    case 2:
                        var length = (int)Varint(buffer, ref position);
                        Need(buffer, position, length);
                        yield return (field, wire, 0, buffer[position..(position + length)]);
                        position += length;
                        break;
                    case 5:
                        Need(buffer, position, 4);
                        yield return (field, wire, BitConverter.ToUInt32(buffer, position), []);
                        position += 4;
                        break;
                    default:
                        throw new FormatException($"protobuf wire type {wire} at byte {position}");
                }
            }
        }

        private static void Need(byte[] buffer, int position, int count)
        {
            if (count < 0 || position + count > buffer.Length)
            {
                throw new FormatException($"truncated field at byte {position}");
            }
        }

        private static ulong Varint(byte[] buffer, ref int position)
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                Need(buffer, position, 1);
                var b = buffer[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }
            throw new FormatException($"varint longer than 10 bytes at byte {position}");
        }
    }
}
