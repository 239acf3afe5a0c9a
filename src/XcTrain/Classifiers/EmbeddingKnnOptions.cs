using Skim.Core;

namespace Skim.XcTrain.Classifiers;

/// <summary>Settings of <see cref="EmbeddingKnnClassifier"/>.</summary>
public sealed record EmbeddingKnnOptions
{
    /// <summary>Gets how many labels are scored per test point (capped at the label count). Defaults to 100.</summary>
    public int TopK { get; init; } = 100;

    /// <summary>Gets what stands for a label. Defaults to <see cref="LabelRepresentation.LabelText"/>.</summary>
    public LabelRepresentation Representation { get; init; } = LabelRepresentation.LabelText;

    /// <summary>
    /// Gets whether train-point means are L2-normalised, so that with normalised test embeddings a
    /// score is a cosine similarity (a mean of unit vectors is shorter than one). Defaults to true.
    /// </summary>
    public bool NormalizeMeans { get; init; } = true;

    /// <summary>Gets how many test points are scored at once. Defaults to 512.</summary>
    public int QueryBlockSize { get; init; } = 512;

    /// <summary>Gets how many label rows are held on the device at once. Defaults to 65536.</summary>
    public int LabelBlockSize { get; init; } = 65536;

    /// <summary>Gets the device: <c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. Defaults to auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (TopK < 1)
        {
            throw new SkimConfigException($"top_k: expected a positive number of labels, found {TopK}");
        }
        if (!Enum.IsDefined(Representation))
        {
            throw new SkimConfigException($"representation: expected label-text or train-point-mean, found {(int)Representation}");
        }
        if (QueryBlockSize < 1)
        {
            throw new SkimConfigException($"query_block_size: expected a positive number of rows, found {QueryBlockSize}");
        }
        if (LabelBlockSize < 1)
        {
            throw new SkimConfigException($"label_block_size: expected a positive number of rows, found {LabelBlockSize}");
        }
    }
}
