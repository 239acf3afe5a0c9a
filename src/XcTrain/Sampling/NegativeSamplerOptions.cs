using Skim.Core;

namespace Skim.XcTrain.Sampling;

/// <summary>Settings of the negative samplers (<see cref="NegativeSamplers.Create"/>); each kind reads the ones it names.</summary>
public sealed record NegativeSamplerOptions
{
    /// <summary>Gets how many labels <c>mixed</c> and <c>cross-batch-mixed</c> draw uniformly from the whole label set per step (MNS's B'). Defaults to 256.</summary>
    public int CorpusNegatives { get; init; } = 256;

    /// <summary>Gets how many label rows the <c>cross-batch</c> kinds remember (the FIFO memory bank's size). Defaults to 2048, the fork's <c>fifo_queue_size</c>.</summary>
    public int QueueSize { get; init; } = 2048;

    /// <summary>
    /// Gets whether the <c>cross-batch</c> kinds remember label ids and re-encode them with gradient
    /// (what the DEXML fork does) instead of reusing their stored embeddings without gradient (the
    /// CBNS paper). Defaults to false.
    /// </summary>
    public bool MemoryAsLabelIds { get; init; }

    /// <summary>Gets how many synthetic negatives <c>batch-mix</c> makes per step. Defaults to 256.</summary>
    public int MixNegatives { get; init; } = 256;

    /// <summary>Gets the α of the Beta(α, β) distribution of <c>batch-mix</c>'s mixing coefficients. Defaults to 1 (the fork's <c>mixing_alpha</c>).</summary>
    public double MixAlpha { get; init; } = 1;

    /// <summary>Gets the β of the Beta(α, β) distribution of <c>batch-mix</c>'s mixing coefficients. Defaults to 1 (the fork's <c>mixing_beta</c>).</summary>
    public double MixBeta { get; init; } = 1;

    /// <summary>Gets the temperature of the softmax that turns <c>batch-mix</c>'s Beta draws into mixing weights (the BMNS code's <c>temp</c>). Defaults to 1.</summary>
    public double MixTemperature { get; init; } = 1;

    /// <summary>Gets the size of the uniform candidate set <c>mixed-bayesian</c> picks each negative from. Defaults to 16.</summary>
    public int BayesianCandidates { get; init; } = 16;

    /// <summary>Gets the weight α of the false-negative risk in <c>mixed-bayesian</c>'s sampling risk. Defaults to 10 (the fork's constant).</summary>
    public double BayesianAlpha { get; init; } = 10;

    /// <summary>
    /// Gets each label's training frequency (the column sums of the training matrix, see
    /// <see cref="NegativeSamplers.LabelFrequencies"/>); needed by <c>mixed-bayesian</c> and by
    /// <see cref="LogQCorrection"/>. Defaults to null.
    /// </summary>
    public float[]? LabelFrequencies { get; init; }

    /// <summary>
    /// Gets whether <see cref="INegativeSampler.ColumnLogitCorrection"/> returns the logQ correction
    /// (needs <see cref="LabelFrequencies"/>; not defined for <c>mixed-bayesian</c>). Defaults to false,
    /// as in the DEXML fork.
    /// </summary>
    public bool LogQCorrection { get; init; }

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        Positive(CorpusNegatives, "corpus_negatives", allowZero: true);
        Positive(QueueSize, "queue_size", allowZero: false);
        Positive(MixNegatives, "mix_negatives", allowZero: true);
        Positive(BayesianCandidates, "bayesian_candidates", allowZero: false);
        if (!(MixAlpha > 0) || !(MixBeta > 0) || double.IsInfinity(MixAlpha) || double.IsInfinity(MixBeta))
        {
            throw new SkimConfigException($"mix_alpha, mix_beta: expected finite numbers above 0, found {MixAlpha} and {MixBeta}");
        }
        if (!(MixTemperature > 0) || double.IsInfinity(MixTemperature))
        {
            throw new SkimConfigException($"mix_temperature: expected a finite number above 0, found {MixTemperature}");
        }
        if (!(BayesianAlpha >= 0) || double.IsInfinity(BayesianAlpha))
        {
            throw new SkimConfigException($"bayesian_alpha: expected a finite number ≥ 0, found {BayesianAlpha}");
        }
        if (LabelFrequencies is { } frequencies)
        {
            for (var y = 0; y < frequencies.Length; y++)
            {
                if (!(frequencies[y] >= 0) || float.IsInfinity(frequencies[y]))
                {
                    throw new SkimConfigException($"label_frequencies: label {y} has {frequencies[y]}, expected a finite number ≥ 0");
                }
            }
        }
        if (LogQCorrection && LabelFrequencies is null)
        {
            throw new SkimConfigException("log_q_correction: needs label_frequencies (the training matrix's column sums), but none were given");
        }
    }

    private static void Positive(int value, string key, bool allowZero)
    {
        if (value < (allowZero ? 0 : 1))
        {
            throw new SkimConfigException($"{key}: expected a number ≥ {(allowZero ? 0 : 1)}, found {value}");
        }
    }
}
