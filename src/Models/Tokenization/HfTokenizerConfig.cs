using System.Text.Json;

namespace Skim.Models.Tokenization;

/// <summary>
/// What a model folder's <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c> and
/// <c>config.json</c> say about tokenization; absent files and keys leave values null.
/// </summary>
internal sealed record HfTokenizerConfig
{
    public bool? DoLowerCase { get; init; }

    public bool? StripAccents { get; init; }

    public bool? TokenizeChineseChars { get; init; }

    public bool? AddBosToken { get; init; }

    public bool? AddEosToken { get; init; }

    public bool? AddPrefixSpace { get; init; }

    public string? BosToken { get; init; }

    public string? EosToken { get; init; }

    public string? PadToken { get; init; }

    public string? UnkToken { get; init; }

    public string? ClsToken { get; init; }

    public string? SepToken { get; init; }

    public string? MaskToken { get; init; }

    public int? BosTokenId { get; init; }

    public int? EosTokenId { get; init; }

    public int? PadTokenId { get; init; }

    public SpecialTokenNames Names => new()
    {
        Bos = BosToken,
        Eos = EosToken,
        Pad = PadToken,
        Unk = UnkToken,
        BosId = BosTokenId,
        EosId = EosTokenId,
        PadId = PadTokenId,
    };

    /// <summary>Reads the three files in <paramref name="directory"/>; tokenizer_config.json wins over special_tokens_map.json.</summary>
    public static HfTokenizerConfig Read(string directory)
    {
        var config = new HfTokenizerConfig();
        var mapPath = Path.Combine(directory, "special_tokens_map.json");
        if (File.Exists(mapPath))
        {
            using var map = HfJson.Parse(mapPath);
            config = WithTokens(config, map.RootElement);
        }
        var tokenizerConfigPath = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(tokenizerConfigPath))
        {
            using var document = HfJson.Parse(tokenizerConfigPath);
            var root = document.RootElement;
            config = WithTokens(config, root) with
            {
                DoLowerCase = HfJson.Bool(root, "do_lower_case"),
                StripAccents = HfJson.Bool(root, "strip_accents"),
                TokenizeChineseChars = HfJson.Bool(root, "tokenize_chinese_chars"),
                AddBosToken = HfJson.Bool(root, "add_bos_token"),
                AddEosToken = HfJson.Bool(root, "add_eos_token"),
                AddPrefixSpace = HfJson.Bool(root, "add_prefix_space"),
            };
        }
        var modelConfigPath = Path.Combine(directory, "config.json");
        if (File.Exists(modelConfigPath))
        {
            using var document = HfJson.Parse(modelConfigPath);
            var root = document.RootElement;
            config = config with
            {
                BosTokenId = HfJson.Int(root, "bos_token_id"),
                EosTokenId = HfJson.Int(root, "eos_token_id"),
                PadTokenId = HfJson.Int(root, "pad_token_id"),
            };
        }
        return config;
    }

    private static HfTokenizerConfig WithTokens(HfTokenizerConfig config, JsonElement root) =>
        root.ValueKind != JsonValueKind.Object ? config : config with
        {
            BosToken = HfJson.TokenText(root, "bos_token") ?? config.BosToken,
            EosToken = HfJson.TokenText(root, "eos_token") ?? config.EosToken,
            PadToken = HfJson.TokenText(root, "pad_token") ?? config.PadToken,
            UnkToken = HfJson.TokenText(root, "unk_token") ?? config.UnkToken,
            ClsToken = HfJson.TokenText(root, "cls_token") ?? config.ClsToken,
            SepToken = HfJson.TokenText(root, "sep_token") ?? config.SepToken,
            MaskToken = HfJson.TokenText(root, "mask_token") ?? config.MaskToken,
        };
}
