using System.Globalization;
using System.Text.Json;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npz;
using Skim.Core.Metrics;
using Skim.XcTrain.Prediction;
using Skim.XcTrain.Training;

namespace Skim.Bench;

/// <summary>
/// Retrieval quality of encoders trained on the bundled demo dataset (artifacts/datasets/demo, whose
/// train matrix has simulated missing labels) with the library calls behind <c>skim train</c>,
/// <c>skim predict</c> and <c>skim eval</c>: NGAME and DEXML (decoupled softmax, in-batch negatives)
/// on small random DistilBERTs, scored on the test split by label retrieval, instance kNN and their
/// fusion, against TF-IDF cosine kNN baselines from scikit-learn (bench/reference/tfidf_knn_baseline.py)
/// on the same texts and train matrix. Every score matrix goes through the same evaluator
/// (<see cref="XcEvaluation"/>: the test filter removed, propensities from the observed train matrix),
/// so the metrics are computed identically. CPU training time is reported per model.
/// </summary>
public sealed class XcTrainQualityBenchmark : IBenchScenario
{
    private const int Threads = 2;
    private const int TopK = 100;

    private static readonly PredictionMethod[] s_methods = [PredictionMethod.Label, PredictionMethod.Instance, PredictionMethod.Fusion];

    /// <inheritdoc />
    public string Name => "xctrain-quality";

    /// <inheritdoc />
    public string Description => "NGAME / DEXML on the demo dataset (small random DistilBERTs, CPU) vs TF-IDF cosine kNN: P@1, P@5, PSP@5, R@100";

    /// <summary>
    /// The runs. Mean pooling for both families: with CLS pooling (DEXML's default) the random tiny
    /// model did not learn at all (loss flat at 3.4, test P@1 1.4 %). The tiny model takes lr 2e-3, the
    /// 4-layer small one 1e-3; 8 epochs, batch 32, 32 tokens (bench/README.md has the runs behind this).
    /// </summary>
    private static IReadOnlyList<Run> Runs
    {
        get
        {
            var epochs = BenchOptions.Quick ? 2 : 8;
            List<Run> runs =
            [
                new("ngame, distilbert-tiny", XcModelKind.Ngame, "init:distilbert-tiny", epochs, 2e-3),
                new("dexml, distilbert-tiny", XcModelKind.Dexml, "init:distilbert-tiny", epochs, 2e-3),
            ];
            if (!BenchOptions.Quick)
            {
                runs.Add(new("ngame, distilbert-small", XcModelKind.Ngame, "init:distilbert-small", epochs, 1e-3));
                runs.Add(new("dexml, distilbert-small", XcModelKind.Dexml, "init:distilbert-small", epochs, 1e-3));
            }
            return runs;
        }
    }

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var loadBefore = LoadAverage();
        var datasetDirectory = Path.GetFullPath(Path.Combine(BenchPython.ReferenceDirectory, "..", "..", "artifacts", "datasets", "demo"));
        var dir = Path.Combine(workDirectory, "xctrain-quality");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);
        var dataset = XcDataset.Open(datasetDirectory);

        // The Python side reads the very texts XcDataset builds (title + " " + content) and the
        // observed train matrix Skim trains on, so neither side re-implements the other's reading.
        var textsPath = Path.Combine(dir, "texts.json");
        await File.WriteAllTextAsync(textsPath, JsonSerializer.Serialize(new Dictionary<string, IReadOnlyList<string>>
        {
            ["train"] = dataset.TrainTexts,
            ["test"] = dataset.TestTexts,
            ["labels"] = dataset.LabelTexts,
        }), ct).ConfigureAwait(false);
        var trainMatrixPath = Path.Combine(dir, "trn_X_Y.npz");
        SparseNpz.Save(trainMatrixPath, dataset.TrainLabels);

        var json = await BenchPython.RunAsync("tfidf_knn_baseline.py", ["--texts", textsPath, "--train-matrix", trainMatrixPath, "--out", dir, "--top-k", $"{TopK}"], ct).ConfigureAwait(false);
        using var baseline = JsonDocument.Parse(json);
        var rows = new List<(string Model, string Method, double Seconds, XcEvaluationReport Report)>();
        foreach (var method in s_methods)
        {
            var name = method.ToString().ToLowerInvariant();
            var chosen = baseline.RootElement.GetProperty("chosen").GetProperty(name);
            rows.Add(("TF-IDF cosine kNN", $"{name} ({Describe(chosen)})", double.NaN, Evaluate(datasetDirectory, Path.Combine(dir, $"tfidf_{name}.npz"), ct)));
        }
        var tfidfSeconds = baseline.RootElement.GetProperty("seconds").GetDouble();

        var curves = new List<(Run Run, XcTrainResult Result)>();
        foreach (var run in Runs)
        {
            var runDirectory = Path.Combine(dir, run.Folder);
            var result = await XcTrainer.RunAsync(run.Options(datasetDirectory, runDirectory), null, ct).ConfigureAwait(false);
            curves.Add((run, result));
            foreach (var method in s_methods)
            {
                var scores = Path.Combine(runDirectory, $"tst_{method.ToString().ToLowerInvariant()}.npz");
                XcPredictor.Run(new XcPredictOptions { RunDirectory = runDirectory, Method = method, TopK = TopK, OutputPath = scores, Device = "cpu" }, ct);
                rows.Add((run.Name, method.ToString().ToLowerInvariant(), result.Elapsed.TotalSeconds, Evaluate(datasetDirectory, scores, ct)));
            }
            // The fusion tuned on the run's validation rows (held-out train points), as TF-IDF's settings are.
            var tunedScores = Path.Combine(runDirectory, "tst_fusion_tuned.npz");
            var tuned = XcPredictor.Run(new XcPredictOptions { RunDirectory = runDirectory, Method = PredictionMethod.Fusion, TuneFusion = true, TopK = TopK, OutputPath = tunedScores, Device = "cpu" }, ct).Tuning!;
            rows.Add((run.Name, Invariant($"fusion tuned (w {tuned.Weight}, k {tuned.Neighbours})"), result.Elapsed.TotalSeconds, Evaluate(datasetDirectory, tunedScores, ct)));
        }
        var loadAfter = LoadAverage();

        var counts = rows[0].Report.Counts;
        output.WriteLine(Invariant($"Dataset {datasetDirectory}: {dataset.TrainTexts.Count} train points ({dataset.TrainLabels.NonZeros} observed train pairs of {dataset.FullTrainLabels?.NonZeros} — simulated missing labels), {counts.Points} test points, {counts.Labels} labels; test filter pairs removed ({counts.FilterPairs}); propensities A {rows[0].Report.PropensityA}, B {rows[0].Report.PropensityB} from the observed train matrix. Load average {loadBefore} before, {loadAfter} after; libtorch on {Threads} threads."));
        output.WriteLine(Invariant($"TF-IDF: scikit-learn {baseline.RootElement.GetProperty("sklearn").GetString()}, settings chosen on {baseline.RootElement.GetProperty("held_out").GetInt32()} held-out train points by (P@1 + R@100) / 2; fitting and predicting the three took {tfidfSeconds:F1} s."));
        output.WriteLine();
        output.WriteLine("Runs (library calls equal to these commands; `skim predict RUN --method label|instance|fusion [--tune-fusion]` then `skim eval --dataset DEMO --scores FILE`):");
        output.WriteLine();
        foreach (var run in Runs)
        {
            output.WriteLine($"- {run.Name}: `{run.CommandLine("DEMO", "RUN")}`");
        }
        output.WriteLine();
        output.WriteLine("| model | method | CPU training time (s) | P@1 | P@5 | PSP@5 | nDCG@5 | R@100 |");
        output.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (model, method, seconds, report) in rows)
        {
            var time = double.IsNaN(seconds) ? "—" : seconds.ToString("F0", CultureInfo.InvariantCulture);
            output.WriteLine(Invariant($"| {model} | {method} | {time} | {Percent(report, "P", 1)} | {Percent(report, "P", 5)} | {Percent(report, "PSP", 5)} | {Percent(report, "nDCG", 5)} | {Percent(report, "R", 100)} |"));
        }
        output.WriteLine();
        output.WriteLine("Learning curves (train_log.csv: mean loss, validation on held-out train points in %, epoch 0 = untrained):");
        output.WriteLine();
        foreach (var (run, result) in curves)
        {
            output.WriteLine(Invariant($"- {run.Name} ({result.TrainRows} train / {result.ValidationRows} validation points): {string.Join("; ", result.Records.Select(Curve))}"));
        }
        output.WriteLine();
        var tfidfRows = rows.Where(r => double.IsNaN(r.Seconds)).ToList();
        var skimRows = rows.Where(r => !double.IsNaN(r.Seconds)).ToList();
        foreach (var (metric, k) in new[] { ("P", 1), ("R", 100) })
        {
            var ours = skimRows.MaxBy(r => r.Report.Get(metric, k));
            var theirs = tfidfRows.MaxBy(r => r.Report.Get(metric, k));
            var verdict = ours.Report.Get(metric, k) > theirs.Report.Get(metric, k) ? "beats" : "does not beat";
            output.WriteLine(Invariant($"{metric}@{k}: Skim's best ({ours.Model}, {ours.Method}) {Percent(ours.Report, metric, k)} {verdict} TF-IDF's best ({theirs.Method}) {Percent(theirs.Report, metric, k)}."));
        }
    }

    private static XcEvaluationReport Evaluate(string dataset, string scores, CancellationToken ct) =>
        XcEvaluation.Run(new XcEvaluationOptions { DatasetDirectory = dataset, ScoresPath = scores, OutputPath = Path.ChangeExtension(scores, ".metrics.json") }, ct);

    private static string Describe(JsonElement chosen)
    {
        var ngram = chosen.GetProperty("ngram").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var parts = new List<string> { ngram[0] == ngram[1] ? $"{ngram[0]}-grams" : $"{ngram[0]}–{ngram[1]}-grams", chosen.GetProperty("sublinear_tf").GetBoolean() ? "sublinear tf" : "raw tf" };
        if (chosen.TryGetProperty("k", out var k))
        {
            parts.Add($"k {k.GetInt32()}");
        }
        if (chosen.TryGetProperty("w", out var w))
        {
            parts.Add(Invariant($"w {w.GetDouble()}"));
        }
        return string.Join(", ", parts);
    }

    private static string Curve(EpochRecord record)
    {
        string Metric(string name) => record.Validation.TryGetValue(name, out var v) && double.IsFinite(v) ? (100 * v).ToString("F1", CultureInfo.InvariantCulture) : "-";
        var loss = double.IsFinite(record.Loss) ? record.Loss.ToString("F3", CultureInfo.InvariantCulture) : "-";
        return Invariant($"{record.Epoch}: loss {loss}, P@1 {Metric("P@1")}, R@100 {Metric("R@100")}");
    }

    private static string Percent(XcEvaluationReport report, string metric, int k) =>
        (100 * report.Get(metric, k)).ToString("F2", CultureInfo.InvariantCulture);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>One training run: the family, the encoder and the settings both families share.</summary>
    private sealed record Run(string Name, XcModelKind Model, string Encoder, int Epochs, double LearningRate)
    {
        public const string Pooling = "mean";
        public const int BatchSize = 32;
        public const int MaxLength = 32;
        public const long Seed = 0;

        public string Folder => Name.Replace(", ", "-", StringComparison.Ordinal);

        public XcTrainOptions Options(string dataset, string run) => new()
        {
            DatasetDirectory = dataset,
            OutputDirectory = run,
            Model = Model,
            Loss = DualEncoderLossKind.DecoupledSoftmax,
            Sampler = "in-batch",
            Encoder = Encoder,
            Pooling = Pooling,
            Epochs = Epochs,
            BatchSize = BatchSize,
            LearningRate = LearningRate,
            MaxLength = MaxLength,
            Device = "cpu",
            Threads = Threads,
            Seed = Seed,
        };

        public string CommandLine(string dataset, string run)
        {
            var family = Model == XcModelKind.Ngame ? "ngame" : "dexml --loss decoupled-softmax --sampler in-batch";
            return Invariant($"skim train --dataset {dataset} --out {run} --model {family} --encoder {Encoder} --pooling {Pooling} --epochs {Epochs} --batch-size {BatchSize} --lr {LearningRate} --max-length {MaxLength} --device cpu --threads {Threads} --seed {Seed}");
        }
    }
}
