using Skim.Core;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// <c>mixed-bayesian</c>: the DEXML fork's own "Mixed-Bayesian Negative Sampling" — MNS's idea of
/// adding negatives from the whole label set, each picked by Bayesian Negative Sampling (Liu and
/// Wang 2023, "Bayesian Negative Sampling for Recommendation", ICDE; github.com/liubin06/BNS): per
/// positive draw, <see cref="NegativeSamplerOptions.BayesianCandidates"/> labels are drawn uniformly
/// from those that are no positive of the batch, and the one with the lowest sampling risk joins the
/// columns (with gradient).
/// </summary>
/// <remarks>
/// <para>BNS, with x the "rating" of a label, i the row's positive and l a candidate:
/// info(l) = 1 − σ(x_i − x_l); prior p_fn(l) = the label's share of the training frequency (the
/// prior that it is a false negative); F(l) = #(non-positive labels with x ≤ x_l) / (#non-positive + 1),
/// the empirical distribution; unbias(l) = (1 − F)(1 − p_fn) / (1 − F − p_fn + 2 F p_fn), the
/// posterior that l is a true negative; risk(l) = (1 − unbias)·info − α·unbias·info with α =
/// <see cref="NegativeSamplerOptions.BayesianAlpha"/> (10 in the fork). The first candidate of lowest
/// risk wins; the results are distinct and exclude the batch's positives.</para>
/// <para>As in the fork, the rating is the label's training frequency
/// (<see cref="NegativeSamplerOptions.LabelFrequencies"/>, required), not a model score as in the BNS
/// paper, so the choice favours labels more popular than the positive that are unlikely to be false
/// negatives. Departure: the fork reads x_i at the row's <i>position in the batch</i> (a bug);
/// here x_i is the frequency of the row's sampled positive. No logQ correction is defined for it.</para>
/// </remarks>
internal sealed class MixedBayesianSampler : NegativeSamplerBase
{
    private readonly float[] _frequencies;
    private readonly float[] _sortedFrequencies;
    private readonly double _total;

    public MixedBayesianSampler(NegativeSamplerOptions options)
        : base(NegativeSamplers.MixedBayesian, options)
    {
        _frequencies = options.LabelFrequencies
            ?? throw new SkimConfigException("negative sampler 'mixed-bayesian': needs label_frequencies (the training matrix's column sums), but none were given");
        if (options.LogQCorrection)
        {
            throw new SkimConfigException("negative sampler 'mixed-bayesian': log_q_correction is not defined for it (BNS picks negatives, it does not reweight them)");
        }
        _sortedFrequencies = [.. _frequencies];
        Array.Sort(_sortedFrequencies);
        foreach (var f in _frequencies)
        {
            _total += f;
        }
    }

    protected override int[] DrawExtra(IReadOnlyList<int> batchPositiveLabels, Random random)
    {
        var positives = new float[StepLabels.Count];
        var at = 0;
        foreach (var y in StepLabels)
        {
            positives[at++] = _frequencies[y];
        }
        Array.Sort(positives);
        var negatives = NumLabels - positives.Length;
        var picked = new List<int>();
        var seen = new HashSet<int>();
        foreach (var positive in batchPositiveLabels)
        {
            var candidates = RandomDraws.UniformDistinct(Options.BayesianCandidates, NumLabels, StepLabels, random);
            if (candidates.Length == 0)
            {
                break;
            }
            var best = candidates[0];
            var bestRisk = double.PositiveInfinity;
            foreach (var candidate in candidates)
            {
                var risk = Risk(_frequencies[positive], candidate, positives, negatives);
                if (risk < bestRisk)
                {
                    bestRisk = risk;
                    best = candidate;
                }
            }
            if (seen.Add(best))
            {
                picked.Add(best);
            }
        }
        return [.. picked];
    }

    private double Risk(double positiveRating, int candidate, float[] sortedPositives, int negatives)
    {
        var rating = _frequencies[candidate];
        var info = 1 - Sigmoid(positiveRating - rating);
        var prior = _total > 0 ? rating / _total : 0;
        // Non-positive labels rated at most as high as the candidate, the candidate included.
        var atMost = UpperBound(_sortedFrequencies, rating) - UpperBound(sortedPositives, rating);
        var empirical = atMost / (negatives + 1.0);
        var denominator = 1 - empirical - prior + (2 * empirical * prior);
        var unbias = denominator > 0 ? (1 - empirical) * (1 - prior) / denominator : 0;
        return ((1 - unbias) * info) - (Options.BayesianAlpha * unbias * info);
    }

    private static double Sigmoid(double x) =>
        x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    // Number of entries ≤ value in an ascending array.
    private static int UpperBound(float[] sorted, float value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
