using Skim.Core;

namespace Skim.Models.Vocabulary;

/// <summary>
/// The special tokens appended to a byte-level BPE vocabulary built for a decoder, and whether a
/// sequence starts with BOS. The presets follow the model families' own conventions.
/// </summary>
public sealed record DecoderSpecialTokens
{
    /// <summary>Gets the beginning-of-sequence token, or null for none. Defaults to "&lt;s&gt;".</summary>
    public string? Bos { get; init; } = "<s>";

    /// <summary>Gets the end-of-sequence token. Defaults to "&lt;/s&gt;".</summary>
    public string Eos { get; init; } = "</s>";

    /// <summary>Gets the padding token, or null to pad with EOS. Defaults to "&lt;pad&gt;".</summary>
    public string? Pad { get; init; } = "<pad>";

    /// <summary>Gets whether the tokenizer puts BOS before every sequence. Defaults to true.</summary>
    public bool AddBos { get; init; } = true;

    /// <summary>Gets Llama-2's and Mistral's convention: <c>&lt;s&gt;</c> added before each sequence, <c>&lt;/s&gt;</c>, and a <c>&lt;pad&gt;</c> token.</summary>
    public static DecoderSpecialTokens Llama { get; } = new();

    /// <summary>Gets Qwen2's convention: no BOS, <c>&lt;|endoftext|&gt;</c> as EOS and padding.</summary>
    public static DecoderSpecialTokens Qwen2 { get; } = new() { Bos = null, Eos = "<|endoftext|>", Pad = "<|endoftext|>", AddBos = false };

    /// <summary>Gets the distinct special tokens in the order they take ids (after the learned tokens).</summary>
    public IReadOnlyList<string> Distinct => new[] { Bos, Eos, Pad }.OfType<string>().Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Throws a <see cref="SkimConfigException"/> when a token is empty or BOS is to be added without one.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Eos) || Bos?.Length == 0 || Pad?.Length == 0)
        {
            throw new SkimConfigException("special tokens: expected non-empty BOS/EOS/pad texts");
        }
        if (AddBos && Bos is null)
        {
            throw new SkimConfigException("special tokens: BOS is to be added but no BOS token is named");
        }
    }
}
