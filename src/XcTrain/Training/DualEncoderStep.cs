using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Models.Devices;
using Skim.Models.Encoders;
using Skim.Models.Search;
using Skim.XcTrain.Losses;
using Skim.XcTrain.Sampling;
using static TorchSharp.torch;

namespace Skim.XcTrain.Training;

/// <summary>
/// One DEXML dual-encoder batch: each point draws its positives in proportion to relevance, the
/// label columns are the batch's unique sampled positives plus the negative sampler's draws (with
/// gradient) and its memory (without), scores are <c>q · yᵀ / τ</c>, and the loss is softmax,
/// decoupled softmax or SoftTopK (xc-reference §3.4). With <see cref="XcTrainOptions.LabelChunkSize"/>
/// the label side is gradient-cached (§3.5). With <see cref="XcTrainOptions.ShortlistNegatives"/>
/// each row also draws hard negatives from a shortlist mined with the current model (§3.6).
/// </summary>
internal sealed class DualEncoderStep : ITrainingStep
{
    private readonly XcTrainOptions _options;
    private readonly TrainingData _data;
    private readonly TokenCache _tokens;
    private readonly TextEncoder _encoder;
    private readonly LabelSide _labels;
    private readonly RelevanceLookup _relevance;
    private readonly INegativeSampler _sampler;
    private readonly bool _cacheGradients;
    private const string ShortlistArray = "dexml_shortlist";
    private const int MineBatchSize = 256;
    private Dictionary<int, int[]>? _shortlist;

    /// <summary>Creates the step; <paramref name="cacheGradients"/> null caches whenever labels are chunked (false: chunks keep their graphs, the reference computation caching must equal).</summary>
    public DualEncoderStep(XcTrainOptions options, TrainingData data, TokenCache tokens, TextEncoder encoder, LabelSide labels, bool? cacheGradients = null)
    {
        _labels = labels;
        _cacheGradients = cacheGradients ?? options.LabelChunkSize > 0;
        _options = options;
        _data = data;
        _tokens = tokens;
        _encoder = encoder;
        _relevance = new RelevanceLookup(data.TrainMatrix);
        _sampler = NegativeSamplers.Create(options.Sampler, new NegativeSamplerOptions
        {
            CorpusNegatives = options.SamplerNegatives,
            MixNegatives = options.SamplerNegatives,
            QueueSize = options.SamplerQueueSize,
            LabelFrequencies = NegativeSamplers.LabelFrequencies(data.TrainMatrix.SliceRows(data.TrainRows)),
        });
    }

    public int[] EpochOrder(int epoch)
    {
        var order = (int[])_data.TrainRows.Clone();
        new Random(SeedMix.Of(_options.Seed, "order", epoch)).Shuffle(order);
        return order;
    }

    public double Run(int epoch, int batch, int[] rows, double lossScale)
    {
        using var scope = NewDisposeScope();
        using var s = new HeldScalars(); // see HeldScalars: this runs every step
        var device = _encoder.Device;
        var positiveRandom = new Random(SeedMix.Of(_options.Seed, "positives", epoch, batch));
        var sampled = rows.Select(row => PositiveSampler.Draw(_data.TrainMatrix, row, _options.PositivesPerRow, positiveRandom)).ToArray();
        var columns = sampled.SelectMany(s => s).Distinct().Order().ToList();
        var known = columns.ToHashSet();
        columns.AddRange(DrawHardNegatives(rows, epoch, batch).Where(known.Add));
        // Hard negatives go to the sampler with the positives: its draws and memory then avoid every
        // label encoded this step.
        var extra = _sampler.DrawLabels(columns, _data.Labels, new Random(SeedMix.Of(_options.Seed, "negatives", epoch, batch)));
        columns.AddRange(extra.Where(known.Add));
        var (memory, memoryLabels) = _sampler.MemoryColumns(device);

        // Labels are encoded before queries in both modes, so the dropout draws follow one order.
        var cached = _cacheGradients && _options.LabelChunkSize > 0;
        var chunks = _options.LabelChunkSize > 0 ? Chunk(columns, _options.LabelChunkSize) : [columns.ToArray()];
        var rngStates = new List<Tensor>();
        var labelParts = new List<Tensor>();
        foreach (var chunk in chunks)
        {
            if (cached)
            {
                rngStates.Add(random.get_rng_state());
                using var noGrad = no_grad();
                labelParts.Add(EncodeLabels(chunk));
            }
            else
            {
                labelParts.Add(EncodeLabels(chunk));
            }
        }
        var labels = labelParts.Count == 1 ? labelParts[0] : cat(labelParts, 0); // (C', D)
        if (cached)
        {
            labels = labels.detach().requires_grad_(true);
        }
        var (synthetic, syntheticLabels) = _sampler.SyntheticColumns(labels, columns, new Random(SeedMix.Of(_options.Seed, "synthetic", epoch, batch)));
        var allLabels = columns.Concat(syntheticLabels).Concat(memoryLabels).ToArray();
        var parts = new List<Tensor> { labels };
        if (synthetic is not null)
        {
            parts.Add(synthetic);
        }
        if (memory is not null)
        {
            parts.Add(memory.to(labels.dtype));
        }
        var allColumns = parts.Count == 1 ? labels : cat(parts, 0); // (C, D): encoded, synthetic, remembered
        var relevance = tensor(_relevance.Matrix(rows, allLabels), [rows.Length, allLabels.Length], device: device); // (B, C)
        var sampledMask = new float[rows.Length * allLabels.Length];
        var position = columns.Select((label, c) => (label, c)).ToDictionary(p => p.label, p => p.c);
        for (var i = 0; i < rows.Length; i++)
        {
            foreach (var label in sampled[i])
            {
                sampledMask[(i * allLabels.Length) + position[label]] = 1f;
            }
        }
        var sampledTensor = tensor(sampledMask, [rows.Length, allLabels.Length], device: device); // (B, C)

        var (queryIds, queryMask) = TokenBatches.Gather(_tokens.Points, rows, device);
        var queries = _encoder.Forward(queryIds, queryMask); // (B, D)
        var scores = queries.matmul(allColumns.t()).div(s[_options.Temperature]); // (B, C)
        if (_sampler.ColumnLogitCorrection(allLabels, device) is { } correction)
        {
            scores = scores.add(correction.unsqueeze(0), s[1]); // (B, C)
        }
        var loss = _options.Loss switch
        {
            DualEncoderLossKind.Softmax => DualEncoderLosses.Softmax(scores, sampledTensor, relevance),
            DualEncoderLossKind.DecoupledSoftmax => DualEncoderLosses.DecoupledSoftmax(scores, relevance, sampledTensor),
            _ => DualEncoderLosses.SoftTopK(scores, relevance, sampledTensor, _options.SoftTopK),
        };
        loss.mul(s[lossScale]).backward();
        if (cached)
        {
            // Replay each chunk with the dropout it had and push the cached gradient through it.
            var gradient = labels.grad!; // (C', D)
            var offset = 0;
            for (var c = 0; c < chunks.Count; c++)
            {
                random.set_rng_state(rngStates[c]);
                var replay = EncodeLabels(chunks[c]); // (chunk, D)
                autograd.backward(replay, gradient.narrow(0, offset, chunks[c].Length));
                offset += chunks[c].Length;
            }
        }
        _sampler.Remember(labels.detach(), columns);
        return loss.item<float>();
    }

    public void EndEpoch(int epoch)
    {
        var finished = epoch + 1;
        if (_options.ShortlistNegatives > 0 && finished >= _options.ShortlistStartEpoch && (finished - _options.ShortlistStartEpoch) % _options.ShortlistInterval == 0)
        {
            _shortlist = MineShortlist();
        }
    }

    public JsonObject? SaveState(IDictionary<string, NpyArray> arrays)
    {
        if (_shortlist is not null)
        {
            JaggedArrays.Save(arrays, ShortlistArray, [.. _data.TrainRows.Select(row => _shortlist[row])]);
        }
        return _sampler.SaveState(arrays);
    }

    public void LoadState(JsonObject? state, Func<string, NpyArray?> arrays)
    {
        if (JaggedArrays.Load(arrays, ShortlistArray) is { } shortlist)
        {
            _shortlist = _data.TrainRows.Select((row, i) => (row, i)).ToDictionary(p => p.row, p => shortlist[p.i]);
        }
        _sampler.LoadState(state, arrays);
    }

    /// <summary>
    /// The labels the current model ranks highest for each train row, its positives removed
    /// (DEXML's <c>trn_shorty</c>): exact inner-product search of the train points against every label.
    /// </summary>
    internal Dictionary<int, int[]> MineShortlist()
    {
        var dimension = _encoder.Dimension;
        var points = TokenBatches.Embed(_encoder, _tokens.Points, _data.TrainRows, MineBatchSize);
        var labels = _labels.EmbedAll(MineBatchSize);
        var mostPositives = _data.TrainRows.Max(row => _data.TrainMatrix.RowLength(row));
        var knn = ExactKnn.Search(
            EmbeddingRows.FromArray(points, _data.TrainRows.Length, dimension, "train points"),
            EmbeddingRows.FromArray(labels, _data.Labels, dimension, "labels"),
            new ExactKnnOptions { K = Math.Min(_data.Labels, _options.ShortlistSize + mostPositives), Device = _encoder.Device.ToString() });
        var shortlist = new Dictionary<int, int[]>(_data.TrainRows.Length);
        for (var i = 0; i < _data.TrainRows.Length; i++)
        {
            var row = _data.TrainRows[i];
            shortlist[row] = [.. knn.RowIndices(i).ToArray().Where(label => _relevance.Get(row, label) <= 0).Take(_options.ShortlistSize)];
        }
        return shortlist;
    }

    // Uniform draws without replacement from each row's shortlist (DEXML draws with weights all 1).
    private IEnumerable<int> DrawHardNegatives(int[] rows, int epoch, int batch)
    {
        if (_shortlist is null || _options.ShortlistNegatives == 0)
        {
            return [];
        }
        var random = new Random(SeedMix.Of(_options.Seed, "hard-negatives", epoch, batch));
        var drawn = new List<int>();
        foreach (var row in rows)
        {
            var candidates = (int[])_shortlist[row].Clone();
            random.Shuffle(candidates);
            drawn.AddRange(candidates.Take(_options.ShortlistNegatives));
        }
        return drawn.Distinct().Order();
    }

    public void Dispose() => (_sampler as IDisposable)?.Dispose();

    private Tensor EncodeLabels(int[] labels) => _labels.Encode(labels); // (C, D)

    private static List<int[]> Chunk(List<int> labels, int size) => [.. labels.Chunk(size)];
}
