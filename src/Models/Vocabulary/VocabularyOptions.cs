using Skim.Core;

namespace Skim.Models.Vocabulary;

/// <summary>How large a vocabulary built from a corpus may grow.</summary>
public sealed record VocabularyOptions
{
    /// <summary>Gets the target number of tokens, special tokens included; a small corpus may give fewer. Defaults to 1000.</summary>
    public int VocabSize { get; init; } = 1000;

    /// <summary>Gets how often a pair of pieces must occur in the corpus to be merged into a new token. Defaults to 2.</summary>
    public int MinFrequency { get; init; } = 2;

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the option when a value is out of range.</summary>
    /// <param name="smallestSize">The fewest tokens the vocabulary kind needs (its special tokens and base symbols).</param>
    public void Validate(int smallestSize = 1)
    {
        if (VocabSize < smallestSize)
        {
            throw new SkimConfigException($"--vocab-size {VocabSize}: expected at least {smallestSize} (the special tokens and base symbols)");
        }
        if (MinFrequency < 1)
        {
            throw new SkimConfigException($"min frequency {MinFrequency}: expected a positive integer");
        }
    }
}
