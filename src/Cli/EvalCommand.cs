using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npz;
using Skim.Core.IO;
using Skim.Core.Metrics;
using Skim.Core.Sparse;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim eval</c>: scores a prediction matrix against a dataset split with pyxclib-compatible
/// metrics, prints a table and writes <c>metrics.json</c>.
/// </summary>
public static class EvalCommand
{
    /// <summary>The k at which metrics are reported unless <c>--k</c> says otherwise (the paper's).</summary>
    public static readonly IReadOnlyList<int> DefaultKs = [1, 3, 5, 10, 100];

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    // Table rows: the metric's name as printed and in metrics.json.
    private static readonly (XcMetric Metric, string Name)[] s_metrics =
    [
        (XcMetric.Precision, "P"),
        (XcMetric.Ndcg, "nDCG"),
        (XcMetric.PsPrecision, "PSP"),
        (XcMetric.PsNdcg, "PSnDCG"),
        (XcMetric.Recall, "R"),
    ];

    /// <summary>Builds the <c>eval</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var dataset = new Option<string>("--dataset", "-d")
        {
            Description = "The dataset folder (DEXML or XC layout); its train matrix gives the propensities.",
            Required = true,
        };
        var scores = new Option<string>("--scores", "-s")
        {
            Description = "The score matrix (scipy CSR .npz), rows = points of the split, columns = labels.",
            Required = true,
        };
        var split = new Option<string>("--split")
        {
            Description = "The split the scores are for: tst or trn.",
            DefaultValueFactory = _ => XcDataset.TestSplit,
        };
        split.AcceptOnlyFromAmong(XcDataset.TestSplit, XcDataset.TrainSplit, "test", "train");
        var a = new Option<double?>("--A")
        {
            Description = "Propensity A. Defaults by dataset family: 0.6 Amazon, 0.5 Wikipedia (not WikiSeeAlso), else 0.55.",
        };
        var b = new Option<double?>("--B")
        {
            Description = "Propensity B. Defaults by dataset family: 2.6 Amazon, 0.4 Wikipedia (not WikiSeeAlso), else 1.5.",
        };
        var ks = new Option<string>("--k")
        {
            Description = "Comma-separated k at which to report every metric.",
            DefaultValueFactory = _ => string.Join(',', DefaultKs),
        };
        var output = new Option<string?>("--out", "-o")
        {
            Description = "Where to write the metrics JSON. Defaults to metrics.json next to the scores file.",
        };
        var noFilter = new Option<bool>("--no-filter")
        {
            Description = "Keep the split's filter pairs (filter_labels_*.txt) in the predictions instead of removing them.",
        };
        var command = new Command("eval", "Score a prediction matrix with P@k, nDCG@k, PSP@k, PSnDCG@k and R@k (pyxclib semantics).")
        {
            dataset,
            scores,
            split,
            a,
            b,
            ks,
            output,
            noFilter,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var request = new EvalRequest(
                parseResult.GetValue(dataset)!,
                parseResult.GetValue(scores)!,
                parseResult.GetValue(split)!,
                parseResult.GetValue(a),
                parseResult.GetValue(b),
                ParseKs(parseResult.GetValue(ks)!),
                parseResult.GetValue(output),
                !parseResult.GetValue(noFilter));
            Run(console, request, cancellationToken);
            return Task.FromResult(0);
        });
        return command;
    }

    private static void Run(IAnsiConsole console, EvalRequest request, CancellationToken ct)
    {
        var (defaultA, defaultB) = InversePropensity.DefaultsFor(DatasetName(request.Dataset));
        var a = request.A ?? defaultA;
        var b = request.B ?? defaultB;
        if (!double.IsFinite(a))
        {
            throw new SkimConfigException($"--A: expected a finite number, found {a.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!double.IsFinite(b) || b <= 0)
        {
            throw new SkimConfigException($"--B: expected a number above 0, found {b.ToString(CultureInfo.InvariantCulture)}");
        }

        var data = XcDataset.Open(request.Dataset);
        var truth = data.LabelsFor(request.Split);
        var split = request.Split is XcDataset.TrainSplit or "train" ? XcDataset.TrainSplit : XcDataset.TestSplit;
        ct.ThrowIfCancellationRequested();
        var scores = SparseNpz.Load(request.Scores);
        if (scores.Rows != truth.Rows || scores.Columns != truth.Columns)
        {
            throw new SkimFormatException(request.Scores, null,
                $"score matrix is {scores.Rows} x {scores.Columns}, but split {split} of {request.Dataset} needs {truth.Rows} x {truth.Columns} (points x labels)");
        }
        CheckScores(request.Scores, scores);

        var pairs = request.Filter ? data.FilterFor(split) : FilterPairs.Empty;
        var filter = pairs.Count == 0 ? null : new PredictionFilter(truth.Rows, truth.Columns, pairs.Points, pairs.Labels);
        var weights = InversePropensity.Compute(data.TrainLabels, a, b);
        ct.ThrowIfCancellationRequested();
        var result = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions
        {
            MaxK = request.Ks[^1],
            InversePropensity = weights,
            Filter = filter,
        }, ct);

        var outPath = request.Output ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(request.Scores))!, "metrics.json");
        var report = new EvalReport(
            s_metrics.ToDictionary(m => m.Name, m => request.Ks.ToDictionary(k => k.ToString(CultureInfo.InvariantCulture), k => Finite(result.Get(m.Metric, k)))),
            request.Ks,
            a,
            b,
            split,
            filter is not null,
            new EvalInputs(Path.GetFullPath(request.Dataset), Path.GetFullPath(request.Scores)),
            new EvalCounts(
                truth.Rows,
                truth.Columns,
                scores.NonZeros,
                truth.NonZeros,
                CountEmptyRows(truth),
                filter?.Count ?? 0,
                data.TrainLabels.Rows));
        AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(report, s_json) + "\n");

        Render(console, request, split, a, b, filter, result);
        console.MarkupLineInterpolated($"wrote {outPath}");
    }

    private static void Render(IAnsiConsole console, EvalRequest request, string split, double a, double b, PredictionFilter? filter, XcMetricsResult result)
    {
        var filtered = filter is null ? "no filter" : $"{filter.Count:N0} filter pairs removed";
        console.MarkupLineInterpolated(
            $"[bold]{request.Scores}[/] on split {split} of {request.Dataset}: {result.Rows:N0} points, A={a.ToString(CultureInfo.InvariantCulture)}, B={b.ToString(CultureInfo.InvariantCulture)}, {filtered}");
        var table = new Table().AddColumn("metric (%)");
        foreach (var k in request.Ks)
        {
            table.AddColumn(new TableColumn($"@{k}").RightAligned());
        }
        foreach (var (metric, name) in s_metrics)
        {
            table.AddRow([name, .. request.Ks.Select(k => (result.Get(metric, k) * 100).ToString("F2", CultureInfo.InvariantCulture))]);
        }
        console.Write(table);
    }

    private static int[] ParseKs(string text)
    {
        var ks = new SortedSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var k) || k < 1)
            {
                throw new SkimConfigException($"--k: expected comma-separated integers of at least 1, found \"{part}\" in \"{text}\"");
            }
            ks.Add(k);
        }
        return [.. ks];
    }

    // Refused before ranking so the error names the file; a NaN has no place in a ranking.
    private static void CheckScores(string path, CsrMatrix scores)
    {
        var data = scores.Data;
        for (var e = 0; e < data.Length; e++)
        {
            if (float.IsNaN(data[e]))
            {
                var row = Array.FindLastIndex(scores.IndPtr, p => p <= e);
                throw new SkimFormatException(path, $"row {row}, label {scores.Indices[e]}", "score is NaN, expected a number");
            }
        }
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

    private sealed record EvalRequest(string Dataset, string Scores, string Split, double? A, double? B, int[] Ks, string? Output, bool Filter);

    private sealed record EvalReport(
        Dictionary<string, Dictionary<string, double?>> Metrics,
        IReadOnlyList<int> K,
        [property: JsonPropertyName("A")] double PropensityA,
        [property: JsonPropertyName("B")] double PropensityB,
        string Split,
        bool Filtered,
        EvalInputs Inputs,
        EvalCounts Counts);

    private sealed record EvalInputs(string Dataset, string Scores);

    private sealed record EvalCounts(int Points, int Labels, int ScoreNonZeros, int GroundTruthNonZeros, int PointsWithoutLabels, int FilterPairs, int TrainPoints);
}
