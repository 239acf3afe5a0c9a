using Skim.Core;
using static TorchSharp.torch;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// <c>cross-batch</c>: Cross-Batch Negative Sampling (Wang, Zhu and He 2021, "Cross-Batch Negative
/// Sampling for Training Two-Tower Recommenders", SIGIR; the idea of XBM, Wang et al. 2020, "Cross-Batch
/// Memory for Embedding Learning", CVPR): label embeddings encoded in recent steps are kept in a FIFO
/// memory of <see cref="NegativeSamplerOptions.QueueSize"/> rows and reused, without gradient, as extra
/// negatives. Encoders drift slowly once warmed up, so the stale embeddings are close to fresh ones
/// and the negatives grow far beyond the batch at no encoding cost.
/// <c>cross-batch-mixed</c> (the fork's own combination) adds MNS's uniform draws on top.
/// </summary>
/// <remarks>
/// <para>The memory is a plain queue (duplicates kept, the oldest rows fall out); its columns are the
/// newest copy of each remembered label that is not encoded this step, so a label appears once
/// among the columns. It lives on the device of the embeddings given to <see cref="Remember"/> (and
/// moves to the device <see cref="MemoryColumns"/> asks for).</para>
/// <para>The fork differs: its queue holds label <i>ids</i> that are re-encoded with gradient every
/// step (more encoding, fresh embeddings); <see cref="NegativeSamplerOptions.MemoryAsLabelIds"/>
/// selects that behaviour, the ids then coming back from <see cref="NegativeSamplerBase.DrawLabels"/>.
/// For the mixed kind the fork draws its corpus negatives through the training matrix's rows; this
/// port draws them uniformly, as <c>mixed</c> does.</para>
/// <para>logQ (optional): remembered labels were in-batch positives (or uniform draws for the mixed
/// kind), so they take the same Q as the encoded columns, as in CBNS.</para>
/// </remarks>
internal sealed class CrossBatchSampler : NegativeSamplerBase
{
    private readonly bool _mixed;
    private readonly LabelMemory _memory;

    public CrossBatchSampler(NegativeSamplerOptions options, bool mixed)
        : base(mixed ? NegativeSamplers.CrossBatchMixed : NegativeSamplers.CrossBatch, options)
    {
        _mixed = mixed;
        _memory = new LabelMemory(options.QueueSize, keepEmbeddings: !options.MemoryAsLabelIds);
    }

    public override (Tensor? Embeddings, int[] LabelIds) MemoryColumns(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (Options.MemoryAsLabelIds)
        {
            return (null, []);
        }
        var (embeddings, ids) = _memory.Distinct(StepLabels, device);
        return embeddings is null ? (null, []) : (embeddings, ids);
    }

    public override void Remember(Tensor labelEmbeddings, IReadOnlyList<int> labelIds)
    {
        base.Remember(labelEmbeddings, labelIds);
        _memory.Enqueue(labelEmbeddings, labelIds);
    }

    public override SamplerState SaveState()
    {
        var (ids, embeddings, dimension) = _memory.Export();
        return new SamplerState { Sampler = Name, LabelIds = ids, Embeddings = embeddings, Dimension = dimension };
    }

    public override void LoadState(SamplerState state)
    {
        base.LoadState(state);
        try
        {
            _memory.Import(state.LabelIds, state.Embeddings, state.Dimension);
        }
        catch (ArgumentException e)
        {
            throw new SkimConfigException($"negative sampler state of '{Name}': {e.Message}", e);
        }
    }

    protected override int[] DrawExtra(IReadOnlyList<int> batchPositiveLabels, Random random)
    {
        int[] uniform = _mixed ? RandomDraws.UniformDistinct(Options.CorpusNegatives, NumLabels, StepLabels, random) : [];
        if (!Options.MemoryAsLabelIds)
        {
            return uniform;
        }
        var exclude = new HashSet<int>(StepLabels);
        exclude.UnionWith(uniform);
        var (_, remembered) = _memory.Distinct(exclude, device: null);
        return [.. uniform, .. remembered];
    }

    protected override double SamplingMass(int labelId) => _mixed ? MixedMass(labelId) : Unigram(labelId);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _memory.Dispose();
        }
        base.Dispose(disposing);
    }
}
