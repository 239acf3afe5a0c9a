namespace Skim.Models.Tokenization;

/// <summary>
/// Special tokens by their text, as <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c>
/// name them, plus ids given directly by a model's <c>config.json</c> (used when no text is named).
/// </summary>
public sealed record SpecialTokenNames
{
    /// <summary>Gets the BOS token text. Defaults to none.</summary>
    public string? Bos { get; init; }

    /// <summary>Gets the EOS token text. Defaults to none.</summary>
    public string? Eos { get; init; }

    /// <summary>Gets the padding token text. Defaults to none.</summary>
    public string? Pad { get; init; }

    /// <summary>Gets the unknown token text. Defaults to none.</summary>
    public string? Unk { get; init; }

    /// <summary>Gets the BOS id from config.json. Defaults to none.</summary>
    public int? BosId { get; init; }

    /// <summary>Gets the EOS id from config.json. Defaults to none.</summary>
    public int? EosId { get; init; }

    /// <summary>Gets the padding id from config.json. Defaults to none.</summary>
    public int? PadId { get; init; }
}
