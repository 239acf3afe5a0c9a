using System.Text.Json;
using Skim.Core;

namespace Skim.Models.Tokenization;

/// <summary>
/// Builds a tokenizer from a Hugging Face <c>tokenizer.json</c> whose model is WordPiece or
/// byte-level BPE, translating its normalizer, pre-tokenizer, added tokens and post-processor.
/// Parts this reader does not implement are refused by name rather than ignored.
/// </summary>
internal static class TokenizerJson
{
    /// <summary>Whether the file holds a byte-level BPE or WordPiece model (SentencePiece-style BPE is not).</summary>
    public static bool IsSupported(string path, out string problem)
    {
        using var document = HfJson.Parse(path);
        var root = document.RootElement;
        var type = ModelType(root, path);
        problem = type switch
        {
            "WordPiece" => "",
            "BPE" when IsByteLevel(root) => "",
            "BPE" => "model.type BPE without a ByteLevel pre-tokenizer (a SentencePiece-style BPE) is not supported; use its tokenizer.model",
            _ => $"model.type '{type}' is not supported (expected WordPiece or BPE)",
        };
        return problem.Length == 0;
    }

    /// <summary>Reads the file; <paramref name="config"/> supplies special tokens and flags from the folder's other files.</summary>
    public static ITextTokenizer Load(string path, HfTokenizerConfig config)
    {
        using var document = HfJson.Parse(path);
        var root = document.RootElement;
        if (!IsSupported(path, out var problem))
        {
            throw new SkimFormatException(path, "model.type", problem);
        }
        var model = root.GetProperty("model");
        var vocabulary = HfJson.ReadVocabulary(model.TryGetProperty("vocab", out var v) ? v : default, path, "model.vocab");
        var added = ReadAddedTokens(root, path);
        foreach (var token in added)
        {
            vocabulary.TryAdd(token.Content, token.Id);
        }
        var (prefix, suffix) = ReadTemplate(root, path);
        return ModelType(root, path) == "WordPiece"
            ? LoadWordPiece(root, model, vocabulary, config, prefix, suffix, path)
            : LoadBpe(root, model, vocabulary, added, config, prefix, suffix, path);
    }

    private static BertWordPieceTokenizer LoadWordPiece(JsonElement root, JsonElement model, Dictionary<string, int> vocabulary, HfTokenizerConfig config, List<string> prefix, List<string> suffix, string path)
    {
        if (HfJson.String(model, "continuing_subword_prefix") is { } continuation && continuation != "##")
        {
            throw new SkimFormatException(path, "model.continuing_subword_prefix", $"expected '##', found '{continuation}'");
        }
        var normalizer = root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object ? n : default;
        var settings = new BertWordPieceSettings
        {
            LowerCase = (normalizer.ValueKind == JsonValueKind.Object ? HfJson.Bool(normalizer, "lowercase") : null) ?? config.DoLowerCase ?? true,
            StripAccents = (normalizer.ValueKind == JsonValueKind.Object ? HfJson.Bool(normalizer, "strip_accents") : null) ?? config.StripAccents,
            SplitCjk = (normalizer.ValueKind == JsonValueKind.Object ? HfJson.Bool(normalizer, "handle_chinese_chars") : null) ?? config.TokenizeChineseChars ?? true,
            UnkToken = HfJson.String(model, "unk_token") ?? config.UnkToken ?? "[UNK]",
            ClsToken = prefix.Count == 1 ? prefix[0] : config.ClsToken ?? "[CLS]",
            SepToken = suffix.Count == 1 ? suffix[0] : config.SepToken ?? "[SEP]",
            PadToken = config.PadToken ?? "[PAD]",
            MaskToken = config.MaskToken ?? "[MASK]",
        };
        var size = vocabulary.Values.Max() + 1;
        var tokens = new string[size];
        foreach (var (token, id) in vocabulary)
        {
            tokens[id] = token;
        }
        var hole = Array.IndexOf(tokens, null);
        if (hole >= 0)
        {
            throw new SkimFormatException(path, "model.vocab", $"ids must be 0..{size - 1} without gaps, id {hole} is missing");
        }
        return BertWordPieceTokenizer.FromTokens(tokens, settings, path);
    }

    private static ByteLevelBpeTokenizer LoadBpe(JsonElement root, JsonElement model, Dictionary<string, int> vocabulary, List<AddedToken> added, HfTokenizerConfig config, List<string> prefix, List<string> suffix, string path)
    {
        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var mergeList) && mergeList.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var merge in mergeList.EnumerateArray())
            {
                // Older files write "a b", newer ones ["a", "b"].
                merges.Add(merge.ValueKind switch
                {
                    JsonValueKind.String => merge.GetString()!,
                    JsonValueKind.Array when merge.GetArrayLength() == 2 => $"{merge[0].GetString()} {merge[1].GetString()}",
                    _ => throw new SkimFormatException(path, $"model.merges[{index}]", $"expected \"a b\" or [\"a\", \"b\"], found {merge}"),
                });
                index++;
            }
        }
        var patterns = new List<string>();
        var addPrefixSpace = false;
        if (root.TryGetProperty("pre_tokenizer", out var preTokenizer) && preTokenizer.ValueKind == JsonValueKind.Object)
        {
            ReadPreTokenizer(preTokenizer, patterns, ref addPrefixSpace, path, "pre_tokenizer");
        }
        var nfc = false;
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object)
        {
            var type = HfJson.String(normalizer, "type");
            nfc = type == "NFC" ? true : throw new SkimFormatException(path, "normalizer.type", $"'{type}' is not supported for byte-level BPE (expected none or NFC)");
        }
        if (prefix.Count == 0 && suffix.Count == 0)
        {
            // No template: tokenizer_config.json's add_bos_token/add_eos_token decide, as in HF's slow tokenizers.
            if (config.AddBosToken == true && config.BosToken is { } bos)
            {
                prefix.Add(bos);
            }
            if (config.AddEosToken == true && config.EosToken is { } eos)
            {
                suffix.Add(eos);
            }
        }
        var settings = new ByteLevelBpeSettings
        {
            PreTokenizerPatterns = patterns,
            AddPrefixSpace = addPrefixSpace,
            IgnoreMerges = HfJson.Bool(model, "ignore_merges") ?? false,
            NormalizeNfc = nfc,
            AddedTokens = added,
            SpecialTokens = config.Names with { Unk = config.UnkToken ?? HfJson.String(model, "unk_token") },
            PrefixTokens = prefix,
            SuffixTokens = suffix,
        };
        return ByteLevelBpeTokenizer.Create(vocabulary, merges, settings, path);
    }

    private static void ReadPreTokenizer(JsonElement element, List<string> patterns, ref bool addPrefixSpace, string path, string where)
    {
        var type = HfJson.String(element, "type");
        switch (type)
        {
            case "Sequence":
                var index = 0;
                foreach (var inner in element.GetProperty("pretokenizers").EnumerateArray())
                {
                    ReadPreTokenizer(inner, patterns, ref addPrefixSpace, path, $"{where}.pretokenizers[{index++}]");
                }
                break;
            case "ByteLevel":
                addPrefixSpace |= HfJson.Bool(element, "add_prefix_space") ?? false;
                if (HfJson.Bool(element, "use_regex") ?? true)
                {
                    patterns.Add(ByteLevelBpeSettings.Gpt2Pattern);
                }
                break;
            case "Split":
                var behavior = HfJson.String(element, "behavior");
                if (behavior != "Isolated" || HfJson.Bool(element, "invert") == true)
                {
                    throw new SkimFormatException(path, where, $"Split with behavior '{behavior}' (invert {HfJson.Bool(element, "invert")}) is not supported (expected Isolated)");
                }
                var pattern = element.GetProperty("pattern");
                patterns.Add(HfJson.String(pattern, "Regex")
                    ?? (HfJson.String(pattern, "String") is { } literal ? System.Text.RegularExpressions.Regex.Escape(literal) : null)
                    ?? throw new SkimFormatException(path, $"{where}.pattern", "expected Regex or String"));
                break;
            case "Digits":
                patterns.Add(HfJson.Bool(element, "individual_digits") == true ? @"\p{N}" : @"\p{N}+");
                break;
            default:
                throw new SkimFormatException(path, $"{where}.type", $"pre-tokenizer '{type}' is not supported (expected ByteLevel, Split, Digits or Sequence)");
        }
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string path)
    {
        var added = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return added;
        }
        var index = 0;
        foreach (var token in list.EnumerateArray())
        {
            var content = HfJson.String(token, "content");
            var id = HfJson.Int(token, "id");
            if (content is null || id is not >= 0)
            {
                throw new SkimFormatException(path, $"added_tokens[{index}]", "expected a content string and a non-negative id");
            }
            added.Add(new AddedToken(content, id.Value, HfJson.Bool(token, "special") ?? false));
            index++;
        }
        return added;
    }

    // TemplateProcessing's "single" template (possibly inside a Sequence), or Bert/RobertaProcessing.
    private static (List<string> Prefix, List<string> Suffix) ReadTemplate(JsonElement root, string path)
    {
        var prefix = new List<string>();
        var suffix = new List<string>();
        if (!root.TryGetProperty("post_processor", out var processor) || processor.ValueKind != JsonValueKind.Object)
        {
            return (prefix, suffix);
        }
        var processors = HfJson.String(processor, "type") == "Sequence" && processor.TryGetProperty("processors", out var list)
            ? [.. list.EnumerateArray()]
            : new[] { processor };
        foreach (var p in processors)
        {
            switch (HfJson.String(p, "type"))
            {
                case "TemplateProcessing":
                    var seenSequence = false;
                    foreach (var piece in p.GetProperty("single").EnumerateArray())
                    {
                        if (piece.TryGetProperty("Sequence", out _))
                        {
                            seenSequence = true;
                        }
                        else if (piece.TryGetProperty("SpecialToken", out var special))
                        {
                            (seenSequence ? suffix : prefix).Add(HfJson.String(special, "id")
                                ?? throw new SkimFormatException(path, "post_processor.single", "SpecialToken without id"));
                        }
                    }
                    break;
                case "BertProcessing" or "RobertaProcessing":
                    prefix.Add(p.GetProperty("cls")[0].GetString()!);
                    suffix.Add(p.GetProperty("sep")[0].GetString()!);
                    break;
                default:
                    break;
            }
        }
        return (prefix, suffix);
    }

    private static string ModelType(JsonElement root, string path) =>
        root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
            ? HfJson.String(model, "type") ?? InferModelType(model)
            : throw new SkimFormatException(path, "model", "missing");

    // Some writers omit model.type; merges mean BPE, a continuation prefix WordPiece.
    private static string InferModelType(JsonElement model) =>
        model.TryGetProperty("merges", out _) ? "BPE" : model.TryGetProperty("continuing_subword_prefix", out _) ? "WordPiece" : "unknown";

    private static bool IsByteLevel(JsonElement root) =>
        (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object && pre.GetRawText().Contains("\"ByteLevel\"", StringComparison.Ordinal))
        || (root.TryGetProperty("decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object && HfJson.String(decoder, "type") == "ByteLevel");
}
