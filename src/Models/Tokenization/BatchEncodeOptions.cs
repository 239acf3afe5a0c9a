namespace Skim.Models.Tokenization;

/// <summary>How texts become fixed-width rows of ids (Hugging Face's <c>padding</c>/<c>truncation</c> arguments).</summary>
public sealed record BatchEncodeOptions
{
    /// <summary>
    /// Gets the row width when <see cref="PadToMaxLength"/> is set, and the truncation length (special
    /// tokens included) when <see cref="Truncate"/> is set; null means no limit. Defaults to null.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>Gets whether sequences longer than <see cref="MaxLength"/> are cut (keeping the special tokens). Defaults to true.</summary>
    public bool Truncate { get; init; } = true;

    /// <summary>
    /// Gets whether every row is padded to <see cref="MaxLength"/> (HF <c>padding="max_length"</c>);
    /// otherwise rows are padded to the longest in the batch. Defaults to true.
    /// </summary>
    public bool PadToMaxLength { get; init; } = true;

    /// <summary>Gets whether the prefix/suffix special tokens are added. Defaults to true.</summary>
    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>Gets where padding goes. Defaults to <see cref="PaddingSide.Right"/>.</summary>
    public PaddingSide PaddingSide { get; init; } = PaddingSide.Right;

    /// <summary>Throws <see cref="Core.SkimConfigException"/> when the options contradict each other.</summary>
    public void Validate()
    {
        if (MaxLength is { } max && max < 1)
        {
            throw new Core.SkimConfigException($"max_length: must be at least 1, found {max}");
        }
        if (PadToMaxLength && MaxLength is null)
        {
            throw new Core.SkimConfigException("padding to max length needs a max_length");
        }
    }
}
