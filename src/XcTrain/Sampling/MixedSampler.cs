namespace Skim.XcTrain.Sampling;

/// <summary>
/// <c>mixed</c>: Mixed Negative Sampling (Yang et al. 2020, "Mixed Negative Sampling for Learning
/// Two-tower Neural Networks in Recommendations", WWW companion): the in-batch negatives plus
/// <see cref="NegativeSamplerOptions.CorpusNegatives"/> labels drawn uniformly from the whole label
/// set, shared by every row and encoded with gradient, so that rare labels, which in-batch sampling
/// almost never shows, are pushed away too.
/// </summary>
/// <remarks>
/// <para>The uniform draws are distinct and exclude the batch's positives (the fork takes the union of
/// both sets, so a duplicate would vanish anyway). The fork draws its "uniform" ids through a gather
/// on the padded training matrix with one row of draws per training point; this port draws B' labels
/// directly, as the paper describes.</para>
/// <para>logQ (optional): the columns are a mixture of B unigram draws and B' uniform draws, so
/// Q(y) ∝ B·p(y) + B'/L, the mixture the BMNS authors' MNS baseline also uses.</para>
/// </remarks>
internal sealed class MixedSampler(NegativeSamplerOptions options) : NegativeSamplerBase(NegativeSamplers.Mixed, options)
{
    protected override int[] DrawExtra(IReadOnlyList<int> batchPositiveLabels, Random random) =>
        RandomDraws.UniformDistinct(Options.CorpusNegatives, NumLabels, StepLabels, random);

    protected override double SamplingMass(int labelId) => MixedMass(labelId);
}
