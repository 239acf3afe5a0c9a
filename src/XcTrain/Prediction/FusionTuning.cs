using System.Text.Json;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.IO;
using Skim.Core.Metrics;
using Skim.Core.Sparse;
using Skim.Models.Search;
using Skim.XcTrain.Classifiers;

namespace Skim.XcTrain.Prediction;

/// <summary>One fusion setting tried on the validation rows.</summary>
/// <param name="Weight">Label retrieval's weight (instance kNN gets 1 − it).</param>
/// <param name="Neighbours">Training points consulted by instance kNN.</param>
/// <param name="PrecisionAt1">P@1 on the validation rows.</param>
/// <param name="Recall">R@k on the validation rows, k = the predicted top-k (at most 100).</param>
/// <param name="Objective">(P@1 + R@k) / 2, what the choice maximises.</param>
public sealed record FusionTrial(double Weight, int Neighbours, double PrecisionAt1, double Recall, double Objective);

/// <summary>The fusion setting chosen on a run's validation rows and every setting tried.</summary>
/// <param name="Weight">The chosen weight of label retrieval.</param>
/// <param name="Neighbours">The chosen number of neighbours.</param>
/// <param name="Rows">Validation rows scored.</param>
/// <param name="Trials">Every setting tried, in grid order.</param>
public sealed record FusionTuningResult(double Weight, int Neighbours, int Rows, IReadOnlyList<FusionTrial> Trials);

/// <summary>
/// Chooses the label/instance fusion of <c>skim predict --method fusion --tune-fusion</c> on the
/// training run's own validation rows: held-out train points the encoder never trained on, scored by
/// label retrieval and by instance kNN over the other train points (never themselves), each grid
/// setting of weight × neighbours fused and judged by (P@1 + R@k) / 2, the same rule the TF-IDF
/// baseline's settings are chosen by. The test split is never looked at.
/// </summary>
/// <remarks>
/// Label cosines lie in [−1, 1] while instance votes are sums of up to k similarities, so the
/// useful weight depends on k and on the data; a fixed 0.5 lets the votes dominate. The grid
/// includes weights 0 and 1, so tuning can also pick one side alone.
/// </remarks>
public static class FusionTuning
{
    /// <summary>The report written in the run folder.</summary>
    public const string FileName = "fusion_tuning.json";

    /// <summary>The most validation rows scored (a seeded sample beyond that).</summary>
    public const int MaxRows = 2000;

    /// <summary>The label-retrieval weights tried.</summary>
    public static readonly IReadOnlyList<double> Weights = [0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1];

    /// <summary>The neighbour counts tried (those above the train rows are skipped).</summary>
    public static readonly IReadOnlyList<int> NeighbourCounts = [5, 10, 20, 50, 100];

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Tries every setting and returns the best (the first of equals in grid order).</summary>
    /// <param name="trainEmbeddings">Embeddings of every train point, row-major (train points × D).</param>
    /// <param name="labels">Label embeddings.</param>
    /// <param name="trainMatrix">The matrix the run trained on.</param>
    /// <param name="trainFilter">The dataset's train filter pairs (removed from the predictions, as <c>skim eval</c> does).</param>
    /// <param name="trainRows">The rows the run trained on: instance kNN's index.</param>
    /// <param name="validationRows">The rows it held out: the rows scored.</param>
    /// <param name="topK">Labels kept per point.</param>
    /// <param name="device">The device for the searches.</param>
    /// <param name="seed">Seeds the sample when there are more than <see cref="MaxRows"/> validation rows.</param>
    /// <param name="ct">Cancels the work.</param>
    public static FusionTuningResult Tune(float[] trainEmbeddings, EmbeddingRows labels, CsrMatrix trainMatrix, FilterPairs trainFilter, int[] trainRows, int[] validationRows, int topK, string device, long seed, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(trainEmbeddings);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(trainMatrix);
        ArgumentNullException.ThrowIfNull(trainFilter);
        ArgumentNullException.ThrowIfNull(trainRows);
        ArgumentNullException.ThrowIfNull(validationRows);
        var dimension = labels.Dimension;
        var rows = Sample(validationRows, seed);
        var points = EmbeddingRows.FromArray(RowMajor.Gather(trainEmbeddings, rows, dimension), rows.Length, dimension, "validation points");
        var index = EmbeddingRows.FromArray(RowMajor.Gather(trainEmbeddings, trainRows, dimension), trainRows.Length, dimension, "train points");
        var indexMatrix = trainMatrix.SliceRows(trainRows);
        var truth = trainMatrix.SliceRows(rows);
        var filter = PredictionFilter.ForRows(trainFilter, rows, trainMatrix.Columns);
        var recallAt = Math.Min(100, topK);
        var byLabel = EmbeddingKnnClassifier.Predict(points, labels, new EmbeddingKnnOptions { TopK = topK, Device = device }, ct: ct);

        var trials = new List<FusionTrial>();
        foreach (var neighbours in NeighbourCounts.Where(k => k <= trainRows.Length).DefaultIfEmpty(trainRows.Length))
        {
            var byInstance = XcPredictor.InstanceScores(points, index, indexMatrix, neighbours, topK, device, ct);
            foreach (var weight in Weights)
            {
                ct.ThrowIfCancellationRequested();
                var fused = XcPredictor.Fuse(byLabel, byInstance, weight, topK);
                var metrics = XcMetrics.Evaluate(fused, truth, new XcMetricsOptions { MaxK = recallAt, Filter = filter }, ct);
                var precision = metrics.Get(XcMetric.Precision, 1);
                var recall = metrics.Get(XcMetric.Recall, recallAt);
                trials.Add(new FusionTrial(weight, neighbours, precision, recall, (precision + recall) / 2));
            }
        }
        var best = trials.MaxBy(t => t.Objective)!;
        return new FusionTuningResult(best.Weight, best.Neighbours, rows.Length, trials);
    }

    /// <summary>Writes the result as JSON (atomically).</summary>
    public static void Write(string path, FusionTuningResult result) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(result, s_json) + "\n");

    private static int[] Sample(int[] rows, long seed)
    {
        if (rows.Length <= MaxRows)
        {
            return rows;
        }
        var shuffled = (int[])rows.Clone();
        new Random(SeedMix.Of(seed, "fusion-tuning")).Shuffle(shuffled);
        var sample = shuffled[..MaxRows];
        Array.Sort(sample);
        return sample;
    }

}
