namespace Skim.Models.Tokenization;

/// <summary>
/// Settings of a BERT WordPiece tokenizer, as <c>tokenizer_config.json</c> or <c>tokenizer.json</c>
/// state them; the defaults are <c>bert-base-uncased</c>'s.
/// </summary>
public sealed record BertWordPieceSettings
{
    /// <summary>Gets whether text is lower-cased (<c>do_lower_case</c>). Defaults to true.</summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>Gets whether accents are stripped (<c>strip_accents</c>); null follows <see cref="LowerCase"/>. Defaults to null.</summary>
    public bool? StripAccents { get; init; }

    /// <summary>Gets whether CJK ideographs become single-character words (<c>tokenize_chinese_chars</c>). Defaults to true.</summary>
    public bool SplitCjk { get; init; } = true;

    /// <summary>Gets the unknown token. Defaults to <c>[UNK]</c>.</summary>
    public string UnkToken { get; init; } = "[UNK]";

    /// <summary>Gets the classification token. Defaults to <c>[CLS]</c>.</summary>
    public string ClsToken { get; init; } = "[CLS]";

    /// <summary>Gets the separator token. Defaults to <c>[SEP]</c>.</summary>
    public string SepToken { get; init; } = "[SEP]";

    /// <summary>Gets the padding token. Defaults to <c>[PAD]</c>.</summary>
    public string PadToken { get; init; } = "[PAD]";

    /// <summary>Gets the mask token. Defaults to <c>[MASK]</c>.</summary>
    public string MaskToken { get; init; } = "[MASK]";
}
