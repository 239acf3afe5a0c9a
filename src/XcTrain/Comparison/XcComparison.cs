using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npz;
using Skim.Core.Formats.XcText;
using Skim.Core.IO;
using Skim.Core.Manifests;
using Skim.Core.Metrics;
using Skim.Core.Sparse;

namespace Skim.XcTrain.Comparison;

/// <summary>
/// Compares XC runs side by side (<c>skim compare</c>): every metric of <c>skim eval</c> for every
/// run with its difference from the first, and a decile-wise analysis in the manner of pyxclib's —
/// labels split into ten deciles by training frequency, each decile's contribution to P@k and R@k —
/// because SKIM's gains land on tail labels, where an overall P@k hides them. Writes
/// <c>metrics.csv</c>, <c>deciles.csv</c> (and <c>recovery.csv</c>), one PNG per metric and two per-decile
/// PNGs, <c>compare.md</c> embedding them, and <c>compare.json</c>.
/// </summary>
/// <remarks>
/// Metrics are computed by <see cref="XcMetrics"/> with the settings <see cref="XcEvaluation"/> uses
/// (propensities from the dataset's observed train matrix, the split's filter pairs removed), so
/// every value equals what <c>skim eval</c> prints for the same scores. A decile's contribution to
/// P@k counts only the hits on its labels among each point's top k (over k, averaged over points);
/// to R@k the same hits over each point's number of true labels. Hits are split by label, so the
/// contributions add up to the metric.
/// </remarks>
public static class XcComparison
{
    /// <summary>The number of label-frequency buckets.</summary>
    public const int DecileCount = 10;

    /// <summary>The file names written into the output folder.</summary>
    public const string JsonFile = "compare.json";

    /// <summary>The Markdown report.</summary>
    public const string MarkdownFile = "compare.md";

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Compares the runs, writes the report files and returns the report.</summary>
    /// <exception cref="SkimConfigException">An option is out of range, a run or its scores are missing, or runs come from different datasets or splits.</exception>
    /// <exception cref="SkimFormatException">A score or truth matrix has the wrong shape, or a file is malformed.</exception>
    /// <exception cref="SkimDataException">A score is NaN.</exception>
    public static XcComparisonReport Run(XcComparisonOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var split = XcDataset.NormalizeSplit(options.Split);
        var runs = ResolveRuns(options, split);
        var datasetDirectory = ResolveDataset(options, runs);
        var data = XcDataset.Open(datasetDirectory);
        var truth = LoadTruth(options, data, split, datasetDirectory);
        ct.ThrowIfCancellationRequested();

        var (defaultA, defaultB) = InversePropensity.DefaultsFor(DatasetName(datasetDirectory));
        var a = options.PropensityA ?? defaultA;
        var b = options.PropensityB ?? defaultB;
        var weights = InversePropensity.Compute(data.TrainLabels, a, b);
        var pairs = options.Filter ? data.FilterFor(split) : FilterPairs.Empty;
        var filter = pairs.Count == 0 ? null : new PredictionFilter(truth.Rows, truth.Columns, pairs.Points, pairs.Labels);
        var maxK = Math.Max(options.Ks[^1], Math.Max(options.DecilePrecisionK, options.DecileRecallK));
        var (decileOf, deciles) = Deciles(data.TrainLabels, truth);

        var compared = new List<XcComparedRun>(runs.Count);
        foreach (var run in runs)
        {
            ct.ThrowIfCancellationRequested();
            var scores = SparseNpz.Load(run.Scores);
            if (scores.Rows != truth.Rows || scores.Columns != truth.Columns)
            {
                throw new SkimFormatException(run.Scores, null,
                    $"score matrix is {scores.Rows} x {scores.Columns}, but split {split} of {datasetDirectory} needs {truth.Rows} x {truth.Columns} (points x labels)");
            }
            var result = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions
            {
                MaxK = maxK,
                InversePropensity = weights,
                Filter = filter,
                PredictionsSource = run.Scores,
            }, ct);
            var metrics = XcEvaluation.MetricNames.ToDictionary(
                m => m.Name,
                m => options.Ks.ToDictionary(Key, k => Finite(result.Get(m.Metric, k))));
            var top = TopKPredictions.FromSparse(scores, Math.Max(options.DecilePrecisionK, options.DecileRecallK), filter);
            var decilePrecision = DecileContributions(top, truth, decileOf, options.DecilePrecisionK, recall: false);
            var decileRecall = DecileContributions(top, truth, decileOf, options.DecileRecallK, recall: true);
            var recovery = run.TrainMatrix is { } matrixPath && data.FullTrainLabels is { } full
                ? Recovery(data.TrainLabels, full, LoadMatrix(matrixPath), matrixPath)
                : null;
            compared.Add(new XcComparedRun(run.Name, run.Scores, run.RunDirectory, run.TrainMatrix, metrics, [], decilePrecision, decileRecall, recovery));
        }
        var baseline = compared[0];
        compared = [.. compared.Select(run => run with { Difference = Differences(run, baseline) })];

        var output = Path.GetFullPath(options.ResolvedOutputDirectory);
        Directory.CreateDirectory(output);
        var report = new XcComparisonReport(
            Path.GetFullPath(datasetDirectory),
            split,
            options.TruthPath is null ? null : Path.GetFullPath(options.TruthPath),
            options.Ks,
            a,
            b,
            filter is not null,
            options.DecilePrecisionK,
            options.DecileRecallK,
            deciles,
            compared,
            output,
            []);
        var files = XcComparisonWriter.Write(report, ct);
        report = report with { Files = [.. files, JsonFile] };
        AtomicFile.WriteAllText(Path.Combine(output, JsonFile), JsonSerializer.Serialize(report, s_json) + "\n");
        return report;
    }

    /// <summary>
    /// Gets each decile's contribution to P@k (<paramref name="recall"/> false: hits on its labels in
    /// the top k, over k) or R@k (true: the same hits over the row's label sum, 1 for a row without
    /// labels), averaged over all rows — pyxclib's definitions restricted to the decile's labels.
    /// </summary>
    /// <param name="top">The ranked predictions, filtered, at least <paramref name="k"/> deep.</param>
    /// <param name="truth">The ground truth (points × labels).</param>
    /// <param name="decileOf">The decile (0-based) of every label.</param>
    /// <param name="k">The cut-off.</param>
    /// <param name="recall">Whether to compute recall rather than precision.</param>
    public static double[] DecileContributions(TopKPredictions top, CsrMatrix truth, IReadOnlyList<int> decileOf, int k, bool recall)
    {
        ArgumentNullException.ThrowIfNull(top);
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(decileOf);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, top.K);
        var sums = new double[DecileCount];
        var values = new float[truth.Columns];
        var stamp = new int[truth.Columns];
        for (var row = 0; row < truth.Rows; row++)
        {
            var mark = row + 1;
            var labels = truth.RowIndices(row);
            var rowValues = truth.RowValues(row);
            var rowSum = 0d;
            for (var e = 0; e < labels.Length; e++)
            {
                rowSum += rowValues[e];
                // Repeated labels add up, as XcMetrics scores them.
                values[labels[e]] = stamp[labels[e]] == mark ? values[labels[e]] + rowValues[e] : rowValues[e];
                stamp[labels[e]] = mark;
            }
            var scale = recall ? 1 / (rowSum != 0 ? rowSum : 1) : 1.0 / k;
            var ranked = top.RowLabels(row);
            for (var j = 0; j < k; j++)
            {
                var label = ranked[j];
                if (label != TopKPredictions.Padding && stamp[label] == mark && values[label] != 0f)
                {
                    sums[decileOf[label]] += values[label] * scale;
                }
            }
        }
        for (var d = 0; d < DecileCount; d++)
        {
            sums[d] /= truth.Rows;
        }
        return sums;
    }

    /// <summary>
    /// Assigns labels to deciles as <c>skim dataset inspect</c> does: sorted by frequency in
    /// <paramref name="train"/> (descending, ties by label id), cut into ten buckets of equal size;
    /// decile 1 (index 0) is the head.
    /// </summary>
    public static (int[] DecileOf, IReadOnlyList<XcComparisonDecile> Deciles) Deciles(CsrMatrix train, CsrMatrix truth)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(truth);
        var labels = train.Columns;
        var counts = train.ColumnCounts();
        var truthCounts = truth.ColumnCounts();
        var order = Enumerable.Range(0, labels).ToArray();
        Array.Sort(order, (x, y) => counts[x] != counts[y] ? counts[y].CompareTo(counts[x]) : x.CompareTo(y));
        var decileOf = new int[labels];
        var deciles = new XcComparisonDecile[DecileCount];
        for (var d = 0; d < DecileCount; d++)
        {
            var start = (int)((long)d * labels / DecileCount);
            var end = (int)((long)(d + 1) * labels / DecileCount);
            long truthPairs = 0;
            for (var p = start; p < end; p++)
            {
                decileOf[order[p]] = d;
                truthPairs += truthCounts[order[p]];
            }
            deciles[d] = new XcComparisonDecile(
                d + 1,
                end - start,
                end > start ? counts[order[end - 1]] : 0,
                end > start ? counts[order[start]] : 0,
                truthPairs);
        }
        return (decileOf, deciles);
    }

    /// <summary>
    /// Counts the pairs the missing-label simulation removed (in <paramref name="full"/>, not in
    /// <paramref name="observed"/>), the pairs <paramref name="augmented"/> adds to
    /// <paramref name="observed"/> (positive values only) and how many added pairs are removed ones.
    /// </summary>
    /// <exception cref="SkimFormatException">The augmented matrix has another shape than the train matrix.</exception>
    public static XcMissingLabelRecovery Recovery(CsrMatrix observed, CsrMatrix full, CsrMatrix augmented, string augmentedSource)
    {
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(full);
        ArgumentNullException.ThrowIfNull(augmented);
        if (augmented.Rows != observed.Rows || augmented.Columns != observed.Columns)
        {
            throw new SkimFormatException(augmentedSource, null,
                $"train matrix is {augmented.Rows} x {augmented.Columns}, but the dataset's train matrix is {observed.Rows} x {observed.Columns}");
        }
        long removed = 0, added = 0, recovered = 0;
        var seen = new HashSet<int>();
        var missing = new HashSet<int>();
        for (var row = 0; row < observed.Rows; row++)
        {
            seen.Clear();
            missing.Clear();
            foreach (var label in observed.RowIndices(row))
            {
                seen.Add(label);
            }
            foreach (var label in full.RowIndices(row))
            {
                if (!seen.Contains(label) && missing.Add(label))
                {
                    removed++;
                }
            }
            var labels = augmented.RowIndices(row);
            var values = augmented.RowValues(row);
            for (var e = 0; e < labels.Length; e++)
            {
                if (values[e] > 0 && seen.Add(labels[e]))
                {
                    added++;
                    if (missing.Contains(labels[e]))
                    {
                        recovered++;
                    }
                }
            }
        }
        return new XcMissingLabelRecovery(
            removed, added, recovered,
            removed == 0 ? 0 : (double)recovered / removed,
            added == 0 ? 0 : (double)recovered / added);
    }

    /// <summary>A run as found on disk.</summary>
    internal sealed record ResolvedRun(string Input, string Name, string Scores, string? RunDirectory, string? Dataset, string? TrainMatrix);

    /// <summary>Finds each run's score file, dataset and train matrix, and names it.</summary>
    internal static List<ResolvedRun> ResolveRuns(XcComparisonOptions options, string split)
    {
        var runs = new List<ResolvedRun>(options.Runs.Count);
        for (var i = 0; i < options.Runs.Count; i++)
        {
            runs.Add(ResolveRun(options.Runs[i], split));
        }
        var names = options.Names ?? UniqueNames(runs.Select(r => r.Name).ToList());
        return [.. runs.Select((run, i) => run with { Name = names[i] })];
    }

    private static ResolvedRun ResolveRun(string input, string split)
    {
        var scoresName = $"{split}_scores.npz";
        string scores;
        string folder;
        if (Directory.Exists(input))
        {
            folder = Path.GetFullPath(input);
            scores = Path.Combine(folder, scoresName);
            if (RunManifest.Read(folder) is null)
            {
                throw new SkimConfigException(
                    $"run '{input}': no {RunManifest.FileName}; expected the folder of a 'skim train' run holding {scoresName} from 'skim predict', or a score .npz file");
            }
            if (!File.Exists(scores))
            {
                throw new SkimConfigException($"run '{input}': score file {scores} not found; run 'skim predict' on it first (split {split})");
            }
        }
        else if (File.Exists(input))
        {
            scores = Path.GetFullPath(input);
            folder = Path.GetDirectoryName(scores)!;
            var name = Path.GetFileName(scores);
            foreach (var other in (ReadOnlySpan<string>)[XcDataset.TrainSplit, XcDataset.TestSplit])
            {
                if (other != split && name == $"{other}_scores.npz")
                {
                    throw new SkimConfigException($"run '{input}': holds the scores of split {other}, but split {split} is compared");
                }
            }
        }
        else
        {
            throw new SkimConfigException($"run '{input}': not found (expected a run folder or a score .npz file)");
        }

        string? runDirectory = null, dataset = null, trainMatrix = null;
        var manifest = RunManifest.Read(folder);
        if (manifest?.Options is JsonObject opts)
        {
            var manifestPath = Path.Combine(folder, RunManifest.FileName);
            if (manifest.Stage == "train")
            {
                runDirectory = folder;
                dataset = opts["dataset_directory"]?.GetValue<string>();
                trainMatrix = opts["train_matrix_path"]?.GetValue<string>();
            }
            else if (manifest.Stage == "evaluate")
            {
                // An evaluate stage folder: its scores, the training run's dataset and train matrix.
                var evaluatedSplit = opts["split"]?.GetValue<string>();
                if (evaluatedSplit is not null && XcDataset.NormalizeSplit(evaluatedSplit) != split)
                {
                    throw new SkimConfigException($"run '{input}': scored split {XcDataset.NormalizeSplit(evaluatedSplit)} ({manifestPath}), but split {split} is compared");
                }
                runDirectory = opts["run_directory"]?.GetValue<string>();
                dataset = opts["dataset_directory"]?.GetValue<string>();
                if (runDirectory is not null && RunManifest.Read(runDirectory) is { Stage: "train", Options: JsonObject trained })
                {
                    dataset ??= trained["dataset_directory"]?.GetValue<string>();
                    trainMatrix = trained["train_matrix_path"]?.GetValue<string>();
                }
            }
        }
        var display = Path.GetFileName(Path.TrimEndingDirectorySeparator(Directory.Exists(input) ? folder : scores));
        if (!Directory.Exists(input))
        {
            display = Path.GetFileNameWithoutExtension(display);
        }
        return new ResolvedRun(input, display, scores, runDirectory is null ? null : Path.GetFullPath(runDirectory),
            dataset is null ? null : Path.GetFullPath(dataset), trainMatrix is null ? null : Path.GetFullPath(trainMatrix));
    }

    private static List<string> UniqueNames(List<string> names)
    {
        var result = new List<string>(names.Count);
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            // Two runs named alike (a/scores.npz, b/scores.npz) get their position appended.
            for (var n = 2; !used.Add(name); n++)
            {
                name = string.Create(CultureInfo.InvariantCulture, $"{names[i]}-{n}");
            }
            result.Add(name);
        }
        return result;
    }

    private static string ResolveDataset(XcComparisonOptions options, List<ResolvedRun> runs)
    {
        string Same(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (options.DatasetDirectory is { } given)
        {
            foreach (var run in runs)
            {
                if (run.Dataset is { } trained && Same(trained) != Same(given))
                {
                    throw new SkimConfigException(
                        $"run '{run.Name}' ({run.Input}) was trained on {trained}, but --dataset is {Same(given)}; compare runs of one dataset");
                }
            }
            return given;
        }
        var known = runs.Where(r => r.Dataset is not null).ToList();
        if (known.Count == 0)
        {
            throw new SkimConfigException("--dataset: required, because no run's manifest names its dataset");
        }
        foreach (var run in known.Skip(1))
        {
            if (Same(run.Dataset!) != Same(known[0].Dataset!))
            {
                throw new SkimConfigException(
                    $"runs come from different datasets: '{known[0].Name}' was trained on {known[0].Dataset}, '{run.Name}' on {run.Dataset}; compare runs of one dataset");
            }
        }
        return known[0].Dataset!;
    }

    private static CsrMatrix LoadTruth(XcComparisonOptions options, XcDataset data, string split, string datasetDirectory)
    {
        var truth = data.LabelsFor(split);
        if (options.TruthPath is not { } path)
        {
            return truth;
        }
        if (!File.Exists(path))
        {
            throw new SkimConfigException($"--truth: {path} not found");
        }
        var other = LoadMatrix(path);
        if (other.Rows != truth.Rows || other.Columns != truth.Columns)
        {
            throw new SkimFormatException(path, null,
                $"ground truth is {other.Rows} x {other.Columns}, but split {split} of {datasetDirectory} is {truth.Rows} x {truth.Columns} (points x labels)");
        }
        return other;
    }

    private static CsrMatrix LoadMatrix(string path) =>
        path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) ? XcSparseText.Read(path) : SparseNpz.Load(path);

    private static Dictionary<string, Dictionary<string, double?>> Differences(XcComparedRun run, XcComparedRun baseline) =>
        run.Metrics.ToDictionary(
            m => m.Key,
            m => m.Value.ToDictionary(v => v.Key, v => v.Value is { } value && baseline.Metrics[m.Key][v.Key] is { } first ? value - first : (double?)null));

    private static string Key(int k) => k.ToString(CultureInfo.InvariantCulture);

    private static string DatasetName(string directory) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));

    // JSON has no NaN: a metric undefined on this ground truth (PSP without any label) is null.
    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
