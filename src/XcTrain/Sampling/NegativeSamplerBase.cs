using Skim.Core;
using static TorchSharp.torch;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// What the negative samplers share: argument checks, the labels encoded this step (so memory
/// columns never repeat them), and the logQ correction over the probability <see cref="SamplingMass"/>.
/// </summary>
internal abstract class NegativeSamplerBase : INegativeSampler
{
    private readonly double _frequencyTotal;

    protected NegativeSamplerBase(string name, NegativeSamplerOptions options)
    {
        Name = name;
        Options = options;
        if (options.LabelFrequencies is { } frequencies)
        {
            foreach (var f in frequencies)
            {
                _frequencyTotal += f;
            }
        }
    }

    public string Name { get; }

    protected NegativeSamplerOptions Options { get; }

    /// <summary>Gets the labels encoded with gradient this step: the sampled positives and the drawn extras.</summary>
    protected HashSet<int> StepLabels { get; } = [];

    /// <summary>Gets how many positive draws the step had (entries of the list given to <see cref="DrawLabels"/>).</summary>
    protected int StepPositiveDraws { get; private set; }

    /// <summary>Gets the label count of the current step.</summary>
    protected int NumLabels { get; private set; }

    public int[] DrawLabels(IReadOnlyList<int> batchPositiveLabels, int numLabels, Random random)
    {
        ArgumentNullException.ThrowIfNull(batchPositiveLabels);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLabels, 1);
        if (Options.LabelFrequencies is { } frequencies && frequencies.Length != numLabels)
        {
            throw new SkimConfigException($"label_frequencies: {frequencies.Length} entries, but the data has {numLabels} labels");
        }
        StepLabels.Clear();
        foreach (var y in batchPositiveLabels)
        {
            if ((uint)y >= (uint)numLabels)
            {
                throw new ArgumentOutOfRangeException(nameof(batchPositiveLabels), y, $"expected label ids in [0, {numLabels})");
            }
            StepLabels.Add(y);
        }
        StepPositiveDraws = batchPositiveLabels.Count;
        NumLabels = numLabels;
        var extra = DrawExtra(batchPositiveLabels, random);
        foreach (var y in extra)
        {
            StepLabels.Add(y);
        }
        return extra;
    }

    public virtual (Tensor? Embeddings, int[] LabelIds) SyntheticColumns(Tensor labelEmbeddings, IReadOnlyList<int> labelIds, Random random) => (null, []);

    public virtual (Tensor? Embeddings, int[] LabelIds) MemoryColumns(Device device) => (null, []);

    public Tensor? ColumnLogitCorrection(IReadOnlyList<int> columnLabelIds, Device device)
    {
        ArgumentNullException.ThrowIfNull(columnLabelIds);
        if (!Options.LogQCorrection)
        {
            return null;
        }
        var correction = new float[columnLabelIds.Count];
        for (var i = 0; i < correction.Length; i++)
        {
            correction[i] = (float)-Math.Log(SamplingMass(columnLabelIds[i]));
        }
        return tensor(correction, device: device); // (C,)
    }

    public virtual void Remember(Tensor labelEmbeddings, IReadOnlyList<int> labelIds) => CheckRows(labelEmbeddings, labelIds);

    public virtual SamplerState SaveState() => new() { Sampler = Name };

    public virtual void LoadState(SamplerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Sampler != Name)
        {
            throw new SkimConfigException($"negative sampler state: saved by '{state.Sampler}', cannot be loaded into '{Name}'");
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Throws unless <paramref name="labelEmbeddings"/> is (C, D) with C the number of <paramref name="labelIds"/>.</summary>
    protected static void CheckRows(Tensor labelEmbeddings, IReadOnlyList<int> labelIds)
    {
        ArgumentNullException.ThrowIfNull(labelEmbeddings);
        ArgumentNullException.ThrowIfNull(labelIds);
        if (labelEmbeddings.dim() != 2 || labelEmbeddings.shape[0] != labelIds.Count)
        {
            throw new ArgumentException($"expected (C = {labelIds.Count}, D) label embeddings, found shape [{string.Join(", ", labelEmbeddings.shape)}]", nameof(labelEmbeddings));
        }
    }

    /// <summary>Returns the extra labels of the step (distinct, in range, none in <see cref="StepLabels"/>).</summary>
    protected abstract int[] DrawExtra(IReadOnlyList<int> batchPositiveLabels, Random random);

    /// <summary>
    /// Returns a number proportional to the probability that the sampler puts label
    /// <paramref name="labelId"/> among the columns (the Q of logQ). By default the unigram
    /// (training frequency) distribution, which in-batch positives follow.
    /// </summary>
    protected virtual double SamplingMass(int labelId) => Unigram(labelId);

    /// <summary>Gets a label's share of the training frequency, floored at 1e-30 so a never-seen label gets a large but finite correction.</summary>
    protected double Unigram(int labelId)
    {
        var frequencies = Options.LabelFrequencies!;
        if ((uint)labelId >= (uint)frequencies.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(labelId), labelId, $"expected label ids in [0, {frequencies.Length})");
        }
        return Math.Max(frequencies[labelId] / _frequencyTotal, 1e-30);
    }

    /// <summary>MNS's mixture: B positive draws follow the unigram, B' corpus draws are uniform over L labels.</summary>
    protected double MixedMass(int labelId) =>
        (StepPositiveDraws * Unigram(labelId)) + (Options.CorpusNegatives / (double)Options.LabelFrequencies!.Length);

    protected virtual void Dispose(bool disposing)
    {
    }
}
