using Skim.Core;

namespace Skim.Models.Tokenization;

/// <summary>
/// Loads the tokenizer of a Hugging Face model folder, picking the kind from the files present:
/// <c>tokenizer.json</c> (WordPiece or byte-level BPE, as HF's fast tokenizers do), then
/// <c>tokenizer.model</c> (SentencePiece), then <c>vocab.json</c> + <c>merges.txt</c>, then <c>vocab.txt</c>.
/// Special tokens and flags come from <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c> and <c>config.json</c>.
/// </summary>
public static class TokenizerLoader
{
    /// <summary>Loads the tokenizer in <paramref name="directory"/>, or throws a one-line <see cref="SkimFormatException"/>.</summary>
    public static ITextTokenizer Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            throw new SkimFormatException(directory, null, "tokenizer directory not found");
        }
        var config = HfTokenizerConfig.Read(directory);
        string File(string name) => Path.Combine(directory, name);
        bool Has(string name) => System.IO.File.Exists(File(name));

        var jsonProblem = "";
        if (Has("tokenizer.json") && TokenizerJson.IsSupported(File("tokenizer.json"), out jsonProblem))
        {
            return TokenizerJson.Load(File("tokenizer.json"), config);
        }
        if (Has("tokenizer.model"))
        {
            return SentencePieceTextTokenizer.FromModelFile(File("tokenizer.model"), config.AddBosToken ?? true, config.AddEosToken ?? false, config.Names);
        }
        if (jsonProblem.Length > 0)
        {
            throw new SkimFormatException(File("tokenizer.json"), "model", jsonProblem);
        }
        if (Has("vocab.json") || Has("merges.txt"))
        {
            if (!Has("vocab.json") || !Has("merges.txt"))
            {
                throw new SkimFormatException(directory, null, $"byte-level BPE needs vocab.json and merges.txt, {(Has("vocab.json") ? "merges.txt" : "vocab.json")} is missing");
            }
            return ByteLevelBpeTokenizer.FromFiles(File("vocab.json"), File("merges.txt"), BpeSettings(config));
        }
        if (Has("vocab.txt"))
        {
            return BertWordPieceTokenizer.FromVocabFile(File("vocab.txt"), new BertWordPieceSettings
            {
                LowerCase = config.DoLowerCase ?? true,
                StripAccents = config.StripAccents,
                SplitCjk = config.TokenizeChineseChars ?? true,
                UnkToken = config.UnkToken ?? "[UNK]",
                ClsToken = config.ClsToken ?? "[CLS]",
                SepToken = config.SepToken ?? "[SEP]",
                PadToken = config.PadToken ?? "[PAD]",
                MaskToken = config.MaskToken ?? "[MASK]",
            });
        }
        throw new SkimFormatException(directory, null, "no tokenizer files (expected vocab.txt, tokenizer.json, tokenizer.model, or vocab.json + merges.txt)");
    }

    private static ByteLevelBpeSettings BpeSettings(HfTokenizerConfig config) => new()
    {
        AddPrefixSpace = config.AddPrefixSpace ?? false,
        SpecialTokens = config.Names,
        PrefixTokens = config.AddBosToken == true && config.BosToken is { } bos ? [bos] : [],
        SuffixTokens = config.AddEosToken == true && config.EosToken is { } eos ? [eos] : [],
    };
}
