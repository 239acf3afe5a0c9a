namespace Skim.Models.Tokenization;

/// <summary>
/// The ids of a tokenizer's special tokens; a token the model family does not use is null
/// (BERT has no BOS/EOS, GPT-2 has no CLS/SEP/pad).
/// </summary>
public sealed record SpecialTokenIds
{
    /// <summary>Gets the beginning-of-sequence id (Llama's <c>&lt;s&gt;</c>). Defaults to none.</summary>
    public int? Bos { get; init; }

    /// <summary>Gets the end-of-sequence id. Defaults to none.</summary>
    public int? Eos { get; init; }

    /// <summary>Gets the padding id as the model's files declare it. Defaults to none.</summary>
    public int? Pad { get; init; }

    /// <summary>Gets the unknown-token id. Defaults to none.</summary>
    public int? Unk { get; init; }

    /// <summary>Gets BERT's classification id (<c>[CLS]</c>). Defaults to none.</summary>
    public int? Cls { get; init; }

    /// <summary>Gets BERT's separator id (<c>[SEP]</c>). Defaults to none.</summary>
    public int? Sep { get; init; }

    /// <summary>Gets BERT's mask id (<c>[MASK]</c>). Defaults to none.</summary>
    public int? Mask { get; init; }

    /// <summary>
    /// Gets the id used to pad batches: the declared pad id, else EOS (what decoder-only
    /// checkpoints without a pad token conventionally use), else 0.
    /// </summary>
    public int PaddingId => Pad ?? Eos ?? 0;
}
