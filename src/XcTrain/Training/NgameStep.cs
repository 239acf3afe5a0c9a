using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Models.Devices;
using Skim.Models.Encoders;
using Skim.XcTrain.Losses;
using Skim.XcTrain.Sampling;
using static TorchSharp.torch;

namespace Skim.XcTrain.Training;

/// <summary>
/// One NGAME M1 batch (xc-reference §4.3–4.4): each point draws one positive (in proportion to
/// relevance), the B points and B drawn labels are encoded by the shared encoder, the B × B cosine
/// matrix is scored by the triplet loss with online hard negatives, and the points' embeddings go
/// into a memory bank. Batches are consecutive chunks of shuffled clusters of similar points:
/// balanced 2-means of the stale bank embeddings, re-clustered on the schedule, with cluster size
/// doubling at <see cref="XcTrainOptions.ClusterEpochs"/>, so the other points' labels in a batch
/// are hard negatives.
/// </summary>
internal sealed class NgameStep : ITrainingStep
{
    private const string BankArray = "ngame_bank";
    private const string ClusterArray = "ngame_clusters";

    private readonly XcTrainOptions _options;
    private readonly TrainingData _data;
    private readonly TokenCache _tokens;
    private readonly TextEncoder _encoder;
    private readonly LabelSide _labels;
    private readonly RelevanceLookup _relevance;
    private readonly Dictionary<int, int> _bankRow;
    private readonly float[] _bank;
    private ClusterBatchSchedule _schedule;
    private int[][] _clusters;

    public NgameStep(XcTrainOptions options, TrainingData data, TokenCache tokens, TextEncoder encoder, LabelSide labels)
    {
        _labels = labels;
        _options = options;
        _data = data;
        _tokens = tokens;
        _encoder = encoder;
        _relevance = new RelevanceLookup(data.TrainMatrix);
        _bankRow = data.TrainRows.Select((row, i) => (row, i)).ToDictionary(p => p.row, p => p.i);
        _bank = new float[(long)data.TrainRows.Length * encoder.Dimension];
        _schedule = new ClusterBatchSchedule(data.TrainRows.Length, options.ClusterEpochs, options.ClusterRefreshInterval);
        // Every point its own cluster: the first epochs' order is a plain shuffle.
        _clusters = [.. data.TrainRows.Select(row => new[] { row })];
    }

    public int[] EpochOrder(int epoch)
    {
        // The order comes from the clustering made one epoch earlier (NGAME builds the next order
        // at the end of an epoch from the index refreshed at its start).
        var order = ClusterBatchSchedule.Order(_clusters, new Random(SeedMix.Of(_options.Seed, "order", epoch)));
        if (_schedule.ShouldRecluster(epoch))
        {
            var clusters = BalancedKMeans.Cluster(_bank, _data.TrainRows.Length, _encoder.Dimension, _schedule.Clusters, SeedMix.Of(_options.Seed, "clusters", epoch));
            _clusters = [.. clusters.Select(members => members.Select(i => _data.TrainRows[i]).ToArray())];
        }
        return order;
    }

    public double Run(int epoch, int batch, int[] rows, double lossScale)
    {
        using var scope = NewDisposeScope();
        var device = _encoder.Device;
        var positiveRandom = new Random(SeedMix.Of(_options.Seed, "positives", epoch, batch));
        var labels = rows.Select(row => PositiveSampler.Draw(_data.TrainMatrix, row, 1, positiveRandom)[0]).ToArray();
        var targets = _relevance.Matrix(rows, labels);
        for (var t = 0; t < targets.Length; t++)
        {
            targets[t] = targets[t] > 0 ? 1f : 0f;
        }

        var labelEmbeddings = _labels.Encode(labels); // (B, D)
        var (pointIds, pointMask) = TokenBatches.Gather(_tokens.Points, rows, device);
        var pointEmbeddings = _encoder.Forward(pointIds, pointMask); // (B, D)
        // NGAME scores by cosine whatever the encoder's own normalisation.
        var scores = Pooling.Normalize(pointEmbeddings).matmul(Pooling.Normalize(labelEmbeddings).t()); // (B, B)
        var loss = TripletLosses.OnlineHardNegativeMining(scores, tensor(targets, [rows.Length, rows.Length], device: device), _options.Margin, _options.HardNegatives);
        using (var s = new HeldScalars()) // see HeldScalars: this runs every step
        {
            loss.mul(s[lossScale]).backward();
        }

        // The memory bank keeps the train-mode embeddings of this step for the next clustering.
        var stale = pointEmbeddings.detach().cpu().data<float>().ToArray();
        var dimension = _encoder.Dimension;
        for (var i = 0; i < rows.Length; i++)
        {
            Array.Copy(stale, i * dimension, _bank, (long)_bankRow[rows[i]] * dimension, dimension);
        }
        return loss.item<float>();
    }

    public void EndEpoch(int epoch) => _schedule.EndEpoch(epoch);

    public JsonObject? SaveState(IDictionary<string, NpyArray> arrays)
    {
        arrays[BankArray] = NpyArray.Create(_bank, _data.TrainRows.Length, _encoder.Dimension);
        JaggedArrays.Save(arrays, ClusterArray, _clusters);
        return new JsonObject { ["schedule"] = JsonSerializer.SerializeToNode(_schedule.ToState()) };
    }

    public void LoadState(JsonObject? state, Func<string, NpyArray?> arrays)
    {
        if (state?["schedule"] is { } schedule)
        {
            _schedule = ClusterBatchSchedule.FromState(schedule.Deserialize<ClusterScheduleState>()!);
        }
        if (arrays(BankArray) is { } bank)
        {
            bank.As<float>().CopyTo(_bank, 0);
        }
        _clusters = JaggedArrays.Load(arrays, ClusterArray) ?? _clusters;
    }

    public void Dispose()
    {
    }
}
