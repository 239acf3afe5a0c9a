using Skim.Core;
using Skim.Core.Sparse;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// Makes the negative samplers of the DEXML fork that focuses on negative sampling for dual
/// encoders (README: "In-batch sampling (default), Mixed Negative Sampling, Batch-Mix Negative
/// Sampling, Cross-Batch Negative Sampling and two new novel approaches: Cross-Batch Mixed Negative
/// Sampling and Mixed-Bayesian Negative Sampling"; code in its <c>TwoTowerTrainCollator</c>, by
/// S. Ganesamoorthy, 2024). Each kind's remarks name its paper and where this port departs from the fork.
/// </summary>
public static class NegativeSamplers
{
    /// <summary>Only the batch's sampled positives (DEXML's default).</summary>
    public const string InBatch = "in-batch";

    /// <summary>In-batch plus labels drawn uniformly from the whole label set (Yang et al. 2020).</summary>
    public const string Mixed = "mixed";

    /// <summary>In-batch plus synthetic negatives mixed from label embeddings (Fan et al., CIKM 2023).</summary>
    public const string BatchMix = "batch-mix";

    /// <summary>In-batch plus a FIFO memory of label embeddings from earlier steps (Wang, Zhu and He, SIGIR 2021).</summary>
    public const string CrossBatch = "cross-batch";

    /// <summary>Cross-batch memory plus MNS's uniform draws (the fork's own combination).</summary>
    public const string CrossBatchMixed = "cross-batch-mixed";

    /// <summary>In-batch plus uniform candidates filtered by Bayesian negative sampling (the fork's combination of MNS and Liu and Wang 2023).</summary>
    public const string MixedBayesian = "mixed-bayesian";

    /// <summary>Gets the valid names, in the fork's order.</summary>
    public static IReadOnlyList<string> Names { get; } = [InBatch, Mixed, BatchMix, CrossBatch, CrossBatchMixed, MixedBayesian];

    /// <summary>Creates the sampler called <paramref name="name"/> (kebab-case, case-insensitive).</summary>
    /// <exception cref="SkimConfigException">The name is unknown (the message lists the valid ones) or an option is invalid.</exception>
    public static INegativeSampler Create(string name, NegativeSamplerOptions options)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return name.Trim().ToLowerInvariant() switch
        {
            InBatch => new InBatchSampler(options),
            Mixed => new MixedSampler(options),
            BatchMix => new BatchMixSampler(options),
            CrossBatch => new CrossBatchSampler(options, mixed: false),
            CrossBatchMixed => new CrossBatchSampler(options, mixed: true),
            MixedBayesian => new MixedBayesianSampler(options),
            _ => throw new SkimConfigException($"negative sampler '{name}': expected one of {string.Join(", ", Names)}"),
        };
    }

    /// <summary>
    /// Returns each label's training frequency: the column sums of <paramref name="trainLabels"/>'s
    /// relevance values (pyxclib-style <c>Y.sum(axis=0)</c>, the fork's <c>get_rating_vector</c>).
    /// </summary>
    public static float[] LabelFrequencies(CsrMatrix trainLabels)
    {
        ArgumentNullException.ThrowIfNull(trainLabels);
        var sums = new double[trainLabels.Columns];
        for (var k = 0; k < trainLabels.NonZeros; k++)
        {
            sums[trainLabels.Indices[k]] += trainLabels.Data[k];
        }
        return Array.ConvertAll(sums, s => (float)s);
    }
}
