using System.Text.Json;
using System.Text.Json.Serialization;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npz;
using Skim.Core.IO;
using Skim.Core.Sparse;

namespace Skim.Core.Metrics;

/// <summary>
/// Scores a prediction matrix file against a dataset split — the work behind <c>skim eval</c> and,
/// later, the evaluation inside training runs and comparisons: loads both, removes the split's
/// filter pairs, computes every metric with propensities from the train matrix, and writes
/// <c>metrics.json</c> atomically.
/// </summary>
public static class XcEvaluation
{
    /// <summary>The metrics in report order with the names used in tables and <c>metrics.json</c>.</summary>
    public static readonly IReadOnlyList<(XcMetric Metric, string Name)> MetricNames =
    [
        (XcMetric.Precision, "P"),
        (XcMetric.Ndcg, "nDCG"),
        (XcMetric.PsPrecision, "PSP"),
        (XcMetric.PsNdcg, "PSnDCG"),
        (XcMetric.Recall, "R"),
    ];

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Evaluates, writes <see cref="XcEvaluationOptions.ResolvedOutputPath"/> and returns the report.</summary>
    /// <exception cref="SkimConfigException">An option is out of range.</exception>
    /// <exception cref="SkimFormatException">The scores do not fit the split, or a file is malformed.</exception>
    /// <exception cref="SkimDataException">A score is NaN (the message names the scores file, row and label).</exception>
    public static XcEvaluationReport Run(XcEvaluationOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (defaultA, defaultB) = InversePropensity.DefaultsFor(DatasetName(options.DatasetDirectory));
        var a = options.PropensityA ?? defaultA;
        var b = options.PropensityB ?? defaultB;
        var split = XcDataset.NormalizeSplit(options.Split);

        var data = XcDataset.Open(options.DatasetDirectory);
        var truth = data.LabelsFor(split);
        ct.ThrowIfCancellationRequested();
        var scores = SparseNpz.Load(options.ScoresPath);
        if (scores.Rows != truth.Rows || scores.Columns != truth.Columns)
        {
            throw new SkimFormatException(options.ScoresPath, null,
                $"score matrix is {scores.Rows} x {scores.Columns}, but split {split} of {options.DatasetDirectory} needs {truth.Rows} x {truth.Columns} (points x labels)");
        }

        var pairs = options.Filter ? data.FilterFor(split) : FilterPairs.Empty;
        var filter = pairs.Count == 0 ? null : new PredictionFilter(truth.Rows, truth.Columns, pairs.Points, pairs.Labels);
        var weights = InversePropensity.Compute(data.TrainLabels, a, b);
        ct.ThrowIfCancellationRequested();
        var metricsOptions = new XcMetricsOptions
        {
            MaxK = options.Ks[^1],
            InversePropensity = weights,
            Filter = filter,
            PredictionsSource = options.ScoresPath,
        };
        var result = XcMetrics.Evaluate(scores, truth, metricsOptions, ct);

        var report = new XcEvaluationReport(
            MetricNames.ToDictionary(m => m.Name, m => options.Ks.ToDictionary(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture), k => Finite(result.Get(m.Metric, k)))),
            options.Ks,
            a,
            b,
            split,
            filter is not null,
            new XcEvaluationInputs(Path.GetFullPath(options.DatasetDirectory), Path.GetFullPath(options.ScoresPath)),
            new XcEvaluationCounts(
                truth.Rows,
                truth.Columns,
                scores.NonZeros,
                truth.NonZeros,
                CountEmptyRows(truth),
                filter?.Count ?? 0,
                data.TrainLabels.Rows));
        AtomicFile.WriteAllText(options.ResolvedOutputPath, JsonSerializer.Serialize(report, s_json) + "\n");
        return report;
    }

    private static int CountEmptyRows(CsrMatrix matrix)
    {
        var empty = 0;
        for (var row = 0; row < matrix.Rows; row++)
        {
            if (matrix.RowLength(row) == 0)
            {
                empty++;
            }
        }
        return empty;
    }

    private static string DatasetName(string directory) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));

    // JSON has no NaN: a metric undefined on this ground truth (PSP without any label) is null.
    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}

/// <summary>The contents of <c>metrics.json</c>: metric → k → value (a fraction; null where undefined), settings, inputs and counts.</summary>
/// <param name="Metrics">Metric name (P, nDCG, PSP, PSnDCG, R) → k → value.</param>
/// <param name="K">The k reported.</param>
/// <param name="PropensityA">Propensity constant A used.</param>
/// <param name="PropensityB">Propensity constant B used.</param>
/// <param name="Split">The split scored (<c>trn</c> or <c>tst</c>).</param>
/// <param name="Filtered">Whether filter pairs were removed.</param>
/// <param name="Inputs">The dataset and scores files.</param>
/// <param name="Counts">Sizes of what was scored.</param>
public sealed record XcEvaluationReport(
    Dictionary<string, Dictionary<string, double?>> Metrics,
    IReadOnlyList<int> K,
    [property: JsonPropertyName("A")] double PropensityA,
    [property: JsonPropertyName("B")] double PropensityB,
    string Split,
    bool Filtered,
    XcEvaluationInputs Inputs,
    XcEvaluationCounts Counts)
{
    /// <summary>Gets the value of metric <paramref name="name"/> at <paramref name="k"/>, NaN where undefined.</summary>
    public double Get(string name, int k) =>
        Metrics[name][k.ToString(System.Globalization.CultureInfo.InvariantCulture)] ?? double.NaN;
}

/// <summary>The inputs of an evaluation, as full paths.</summary>
/// <param name="Dataset">The dataset folder.</param>
/// <param name="Scores">The score matrix file.</param>
public sealed record XcEvaluationInputs(string Dataset, string Scores);

/// <summary>Sizes of an evaluation.</summary>
/// <param name="Points">Rows of the split.</param>
/// <param name="Labels">Labels.</param>
/// <param name="ScoreNonZeros">Stored scores.</param>
/// <param name="GroundTruthNonZeros">Positive pairs of the split.</param>
/// <param name="PointsWithoutLabels">Rows of the split with no positive label (they count in the averages).</param>
/// <param name="FilterPairs">Filter pairs removed.</param>
/// <param name="TrainPoints">Rows of the train matrix the propensities come from.</param>
public sealed record XcEvaluationCounts(int Points, int Labels, int ScoreNonZeros, int GroundTruthNonZeros, int PointsWithoutLabels, int FilterPairs, int TrainPoints);
