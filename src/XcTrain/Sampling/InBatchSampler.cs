namespace Skim.XcTrain.Sampling;

/// <summary>
/// <c>in-batch</c>: the negatives of a row are the other rows' sampled positives, nothing more
/// (DEXML's default; Gillick et al. 2019, "Learning Dense Representations for Entity Retrieval").
/// </summary>
/// <remarks>
/// The in-batch columns are positives of other rows, so they follow the unigram (training
/// frequency) distribution; with <see cref="NegativeSamplerOptions.LogQCorrection"/> each column gets
/// −log p(y), the sampling-bias correction of Yi et al. 2019 (RecSys, "Sampling-Bias-Corrected Neural
/// Modeling for Large Corpus Item Recommendations"). The fork applies no correction.
/// </remarks>
internal sealed class InBatchSampler(NegativeSamplerOptions options) : NegativeSamplerBase(NegativeSamplers.InBatch, options)
{
    protected override int[] DrawExtra(IReadOnlyList<int> batchPositiveLabels, Random random) => [];
}
