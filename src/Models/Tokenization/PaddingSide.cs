namespace Skim.Models.Tokenization;

/// <summary>Where padding goes in a batch row.</summary>
public enum PaddingSide
{
    /// <summary>After the tokens (encoders; Hugging Face's default).</summary>
    Right,

    /// <summary>Before the tokens (batched generation with decoders).</summary>
    Left,
}
