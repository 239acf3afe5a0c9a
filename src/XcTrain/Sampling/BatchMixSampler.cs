using static TorchSharp.torch;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// <c>batch-mix</c>: Batch-Mix Negative Sampling (Fan, Chen, Jiang, Lian, Guo and Zheng 2023,
/// "Batch-Mix Negative Sampling for Learning Recommendation Retrievers", CIKM): besides the in-batch
/// negatives, <see cref="NegativeSamplerOptions.MixNegatives"/> synthetic negatives, each a convex
/// combination of this step's encoded label embeddings, so the negative set grows without encoding
/// any more labels. Gradient flows through the mixes into the encoded labels.
/// </summary>
/// <remarks>
/// <para>As in the authors' code (github.com/lqz72/BMNS, <c>Trainer_BatchMix</c>): draw a (K, C)
/// matrix W of Beta(α, β) values, weights = softmax_c((W − log p(y_c)) / T) (detached), mixes =
/// weights · E. The −log p term, the "correction guided by frequency", tilts the mixes towards rare
/// labels; it is left out when no <see cref="NegativeSamplerOptions.LabelFrequencies"/> are given.</para>
/// <para>Where this port departs: the authors add a second loss over the mixed columns and weight
/// the two by γ; here the mixed columns join the one softmax, and under logQ they take no
/// correction (the authors' mixed scores are uncorrected too). The DEXML fork's version mixes
/// randomly initialised one-dimensional embeddings and casts the results to label ids, which does
/// not produce meaningful negatives, so it is not followed.</para>
/// <para>The trainer must call <see cref="SyntheticColumns"/> every step; <see cref="Remember"/>
/// refuses a step without it, since batch-mix would silently degrade to in-batch.</para>
/// </remarks>
internal sealed class BatchMixSampler(NegativeSamplerOptions options) : NegativeSamplerBase(NegativeSamplers.BatchMix, options)
{
    private bool _awaitingMixes;

    public override (Tensor? Embeddings, int[] LabelIds) SyntheticColumns(Tensor labelEmbeddings, IReadOnlyList<int> labelIds, Random random)
    {
        CheckRows(labelEmbeddings, labelIds);
        ArgumentNullException.ThrowIfNull(random);
        _awaitingMixes = false;
        var mixes = Options.MixNegatives;
        var columns = labelIds.Count;
        if (mixes == 0 || columns == 0)
        {
            return (null, []);
        }
        var logPrior = new double[columns];
        if (Options.LabelFrequencies is not null)
        {
            for (var c = 0; c < columns; c++)
            {
                logPrior[c] = Math.Log(Unigram(labelIds[c]));
            }
        }
        var weights = new float[mixes * columns];
        var logits = new double[columns];
        for (var k = 0; k < mixes; k++)
        {
            var max = double.NegativeInfinity;
            for (var c = 0; c < columns; c++)
            {
                logits[c] = (RandomDraws.Beta(random, Options.MixAlpha, Options.MixBeta) - logPrior[c]) / Options.MixTemperature;
                max = Math.Max(max, logits[c]);
            }
            var total = 0.0;
            for (var c = 0; c < columns; c++)
            {
                logits[c] = Math.Exp(logits[c] - max);
                total += logits[c];
            }
            for (var c = 0; c < columns; c++)
            {
                weights[(k * columns) + c] = (float)(logits[c] / total);
            }
        }
        using var mixing = tensor(weights, [mixes, columns], labelEmbeddings.dtype, labelEmbeddings.device); // (K, C)
        var ids = new int[mixes];
        for (var k = 0; k < mixes; k++)
        {
            ids[k] = -(k + 1);
        }
        return (mixing.matmul(labelEmbeddings), ids); // (K, C) · (C, D) → (K, D)
    }

    public override void Remember(Tensor labelEmbeddings, IReadOnlyList<int> labelIds)
    {
        base.Remember(labelEmbeddings, labelIds);
        if (_awaitingMixes)
        {
            _awaitingMixes = false;
            throw new InvalidOperationException("batch-mix: SyntheticColumns was not called this step, so the step trained with in-batch negatives only; the trainer must add the synthetic columns to the scores");
        }
    }

    protected override int[] DrawExtra(IReadOnlyList<int> batchPositiveLabels, Random random)
    {
        _awaitingMixes = Options.MixNegatives > 0;
        return [];
    }

    // Synthetic columns (negative ids) take no correction, as the authors' mixed scores.
    protected override double SamplingMass(int labelId) => labelId < 0 ? 1 : Unigram(labelId);
}
