using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;
using Skim.Core.Stages;
using Skim.MapQueries.Step2;
using Skim.Models.ModelFactory;
using static System.FormattableString;

namespace Skim.Bench;

/// <summary>
/// Step-2's memory bound: the whole stage — embedding 100K training queries and 200K synthetic queries
/// with a 768-wide encoder, exact top-200 kNN, SKIM's mapping and the report — run in a child process
/// under <c>/usr/bin/time -v</c>, whose peak resident set must stay below the embeddings it searches
/// plus 1 GB. The encoder is DistilBERT-base's width with one layer (random weights): the embedding
/// work is a real encoder's, at a cost this CPU finishes in minutes.
/// </summary>
public sealed partial class Step2MemoryBenchmark : IBenchScenario
{
    private const string ChildVariable = "SKIM_BENCH_STEP2_CHILD";
    private const int Labels = 1_000;

    /// <inheritdoc />
    public string Name => "step2-memory";

    /// <inheritdoc />
    public string Description => "step-2 end to end (embed + exact kNN + map) at 200K synthetic × 100K targets × 768: peak RSS vs inputs + 1 GB";

    private static int Targets => BenchOptions.Quick ? 5_000 : 100_000;

    private static int Synthetic => BenchOptions.Quick ? 10_000 : 200_000;

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var dir = Path.Combine(workDirectory, "step2-memory");
        if (Environment.GetEnvironmentVariable(ChildVariable) == "1")
        {
            await RunStageAsync(dir, output, ct).ConfigureAwait(false);
            return;
        }
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);
        Prepare(dir);

        var start = new ProcessStartInfo("/usr/bin/time") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in (string[])["-v", Environment.ProcessPath!, Name, "--work", workDirectory, .. BenchOptions.Quick ? ["--quick"] : Array.Empty<string>()])
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment[ChildVariable] = "1";
        var clock = Stopwatch.StartNew();
        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start /usr/bin/time");
        var stdout = child.StandardOutput.ReadToEndAsync(ct);
        var stderr = child.StandardError.ReadToEndAsync(ct);
        await child.WaitForExitAsync(ct).ConfigureAwait(false);
        var (childOut, childErr) = (await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        output.Write(childOut);
        if (child.ExitCode != 0)
        {
            output.WriteLine(childErr);
            throw new InvalidOperationException($"the step-2 child failed with exit code {child.ExitCode}");
        }
        var peakKb = long.Parse(MaxRss().Match(childErr).Groups[1].Value, CultureInfo.InvariantCulture);

        var stageDir = Path.Combine(dir, "step2", "embeddings");
        long Size(string name) => new FileInfo(Path.Combine(stageDir, name)).Length;
        var embeddings = Size("rewrite_doc_embeddings.npy") + Size("trn_doc_embeddings.npy");
        var inputFiles = Directory.EnumerateFiles(Path.Combine(dir, "data"), "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(dir, "generations")))
            .Concat(Directory.EnumerateFiles(Path.Combine(dir, "encoder")))
            .Sum(f => new FileInfo(f).Length);
        var bound = embeddings + inputFiles + (1L << 30);
        const double MiB = 1 << 20;
        output.WriteLine();
        output.WriteLine(Invariant($"{Synthetic:N0} synthetic queries × {Targets:N0} training queries × 768 dims, top 200, float32 embeddings, {Environment.ProcessorCount} cores; the child ran {clock.Elapsed.TotalSeconds:F0} s."));
        output.WriteLine();
        output.WriteLine("| quantity | MiB |");
        output.WriteLine("| --- | ---: |");
        output.WriteLine(Invariant($"| embeddings searched (synthetic + targets, .npy) | {embeddings / MiB:F0} |"));
        output.WriteLine(Invariant($"| other inputs (dataset, rewrites, encoder) | {inputFiles / MiB:F0} |"));
        output.WriteLine(Invariant($"| bound: inputs + 1 GiB | {bound / MiB:F0} |"));
        output.WriteLine(Invariant($"| peak resident set (`/usr/bin/time -v`, maximum resident set size) | {peakKb * 1024 / MiB:F0} |"));
        output.WriteLine();
        output.WriteLine(peakKb * 1024 < bound
            ? Invariant($"Target met: peak {peakKb * 1024 / MiB:F0} MiB < bound {bound / MiB:F0} MiB ({(bound - (peakKb * 1024)) / MiB:F0} MiB to spare).")
            : Invariant($"Target NOT met: peak {peakKb * 1024 / MiB:F0} MiB ≥ bound {bound / MiB:F0} MiB."));
    }

    /// <summary>Writes the dataset (DEXML layout), step-1's outputs and a 768-wide one-layer encoder.</summary>
    private static void Prepare(string dir)
    {
        var random = new Random(7);
        var words = Enumerable.Range(0, 600).Select(i => Word(random, i)).ToArray();
        string Text() => string.Join(' ', Enumerable.Range(0, 3).Select(_ => words[random.Next(words.Length)]));

        var data = Path.Combine(dir, "data");
        Directory.CreateDirectory(Path.Combine(data, "raw"));
        File.WriteAllLines(Path.Combine(data, XcDatasetFiles.DexmlTrainTexts), Enumerable.Range(0, Targets).Select(_ => Text()));
        File.WriteAllLines(Path.Combine(data, XcDatasetFiles.DexmlTestTexts), Enumerable.Range(0, 100).Select(_ => Text()));
        File.WriteAllLines(Path.Combine(data, XcDatasetFiles.DexmlLabelTexts), Enumerable.Range(0, Labels).Select(_ => Text()));
        SparseNpz.Save(Path.Combine(data, XcDatasetFiles.DexmlTrainLabels), OneLabelEach(Targets, random));
        SparseNpz.Save(Path.Combine(data, XcDatasetFiles.DexmlTestLabels), OneLabelEach(100, random));

        // Query-side: one group of synthetic queries per label, of uneven sizes.
        var generations = Path.Combine(dir, "generations");
        Directory.CreateDirectory(generations);
        File.WriteAllLines(Path.Combine(generations, "raw_rewrites.txt"), Enumerable.Range(0, Synthetic).Select(_ => Text()));
        var starts = new long[Labels + 1];
        for (var label = 1; label < Labels; label++)
        {
            starts[label] = (long)Synthetic * label / Labels;
        }
        starts[Labels] = Synthetic;
        NpyFile.Write(Path.Combine(generations, "start_indices.npy"), NpyArray.Create(starts, Labels + 1));

        var corpus = Path.Combine(dir, "corpus.txt");
        File.WriteAllLines(corpus, words);
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = "distilbert",
            Preset = "distilbert-base-uncased",
            Layers = 1,
            Tokenizer = ModelInitOptions.TrainPrefix + corpus,
            VocabSize = 1000,
            OutputDirectory = Path.Combine(dir, "encoder"),
        });
    }

    private static async Task RunStageAsync(string dir, TextWriter output, CancellationToken ct)
    {
        var options = new Step2Options
        {
            DatasetDirectory = Path.Combine(dir, "data"),
            GenerationsDirectory = Path.Combine(dir, "generations"),
            Encoder = Path.Combine(dir, "encoder"),
            MaxLength = 8,
            Device = "cpu",
            OutputDirectory = Path.Combine(dir, "step2"),
        };
        IStage stage = new Step2Stage();
        var phases = new Dictionary<string, Stopwatch>();
        var progress = new Sink(p =>
        {
            if (!phases.ContainsKey(p.Phase))
            {
                phases[p.Phase] = Stopwatch.StartNew();
                output.WriteLine(Invariant($"[{DateTime.Now:HH:mm:ss}] {p.Phase}"));
            }
        });
        var clock = Stopwatch.StartNew();
        var summary = await stage.RunAsync(options, progress, ct).ConfigureAwait(false);
        var total = clock.Elapsed.TotalSeconds;
        output.WriteLine(Invariant($"step-2 finished in {total:F1} s: {summary.ToJsonString()}"));
        if (summary["seconds"] is System.Text.Json.Nodes.JsonObject seconds)
        {
            double At(string phase) => seconds[phase]?.GetValue<double>() ?? double.NaN;
            output.WriteLine();
            output.WriteLine("| step-2 phase | seconds | rows/s |");
            output.WriteLine("| --- | ---: | ---: |");
            output.WriteLine(Invariant($"| embed targets ({Targets:N0}) | {At("embed_targets"):F1} | {Targets / At("embed_targets"):F0} |"));
            output.WriteLine(Invariant($"| embed synthetic ({Synthetic:N0}) | {At("embed_synthetic"):F1} | {Synthetic / At("embed_synthetic"):F0} |"));
            output.WriteLine(Invariant($"| exact kNN, top 200 ({Synthetic:N0} × {Targets:N0}) | {At("knn"):F1} | {Synthetic / At("knn"):F0} |"));
            output.WriteLine(Invariant($"| mapping + report | {At("map"):F1} | |"));
            output.WriteLine(Invariant($"| end to end (synthetic rows) | {total:F1} | {Synthetic / total:F0} |"));
        }
    }

    private static CsrMatrix OneLabelEach(int rows, Random random)
    {
        var indPtr = Enumerable.Range(0, rows + 1).ToArray();
        var indices = Enumerable.Range(0, rows).Select(_ => random.Next(Labels)).ToArray();
        return new CsrMatrix(rows, Labels, indPtr, indices, Enumerable.Repeat(1f, rows).ToArray());
    }

    private static string Word(Random random, int i) =>
        new string(Enumerable.Range(0, 4 + (i % 4)).Select(_ => (char)('a' + random.Next(26))).ToArray());

    [GeneratedRegex(@"Maximum resident set size \(kbytes\): (\d+)")]
    private static partial Regex MaxRss();

    private sealed class Sink(Action<StageProgress> report) : IProgress<StageProgress>
    {
        public void Report(StageProgress value) => report(value);
    }
}
