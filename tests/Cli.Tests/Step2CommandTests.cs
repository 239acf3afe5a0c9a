using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Manifests;
using Skim.Core.Sparse;
using Skim.Models.ModelFactory;

namespace Skim.Cli.Tests;

[Collection(CliLibTorchCollection.Name)]
public sealed class Step2CommandTests : IDisposable
{
    private const int Points = 12;
    private const int Labels = 4;
    private readonly TempDirectory _dir = new();
    private readonly string _dataset;
    private readonly string _generations;
    private readonly string _encoder;

    public Step2CommandTests()
    {
        // A dataset whose complete matrix also links points 0..5 to label (i + 1) mod 4, and synthetic
        // queries of each label that copy the texts of the points it lost (plus one noise line each).
        _dataset = SyntheticXcDataset.Write(_dir, train: Points, labels: Labels, test: 4);
        SparseNpz.Save(Path.Combine(_dataset, XcDatasetFiles.DexmlFullTrainLabels),
            CsrMatrix.FromRows(Labels, [.. Enumerable.Range(0, Points).Select(i => i < 6 ? new[] { i % Labels, (i + 1) % Labels }.Order().ToArray() : [i % Labels])]));
        var texts = File.ReadAllLines(Path.Combine(_dataset, "raw", "trn_X.txt"));
        _generations = _dir.File("generations");
        Directory.CreateDirectory(_generations);
        var lines = new List<string>();
        var start = new List<long> { 0 };
        for (var label = 0; label < Labels; label++)
        {
            lines.AddRange(Enumerable.Range(0, 6).Where(i => (i + 1) % Labels == label).Select(i => texts[i]));
            lines.Add($"zulu noise {label}");
            start.Add(lines.Count);
        }
        File.WriteAllLines(Path.Combine(_generations, "raw_rewrites.txt"), lines);
        NpyFile.Write(Path.Combine(_generations, "start_indices.npy"), NpyArray.Create(start.ToArray(), start.Count));
        File.WriteAllLines(_dir.File("corpus.txt"), [.. texts, .. lines, .. File.ReadAllLines(Path.Combine(_dataset, "raw", "Y.txt"))]);
        _encoder = _dir.File("encoder");
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = "distilbert",
            Preset = "tiny",
            Tokenizer = ModelInitOptions.TrainPrefix + _dir.File("corpus.txt"),
            OutputDirectory = _encoder,
            VocabSize = 150,
            Seed = 1,
        });
    }

    [Fact]
    public async Task Step_2_writes_the_augmented_matrix_and_prints_pairs_precision_and_deciles()
    {
        // When step-2 runs with a threshold only exact copies pass, and a sweep beside it
        var output = _dir.File("out");
        var run = await CliTestHost.RunAsync("run", "step-2", "--dataset", _dataset, "--generations", _generations, "--encoder", _encoder,
            "--orientation", "query-side", "--threshold", "0.99999", "--top-k", "3", "--knn", "5", "--sweep", "1:0.99999",
            "--device", "cpu", "--chunk-rows", "4", "--out", output);

        // Then it exits 0, the matrix holds the six restored pairs, and the table reports them against the full matrix
        Assert.True(run.ExitCode == 0, run.Error);
        var augmented = SparseNpz.Load(Path.Combine(output, "trn_X_Y_skim.npz"));
        Assert.Equal(Points + 6, augmented.NonZeros);
        Assert.True(RunManifest.Read(output)!.Complete);
        Assert.True(File.Exists(Path.Combine(output, "sweep", "k1-t0.99999", "trn_X_Y_skim.npz")));
        Assert.Matches(@"pairs before\s*│\s*12", run.Output);
        Assert.Matches(@"pairs added\s*│\s*6", run.Output);
        Assert.Matches(@"precision vs full\s*│\s*100\.00 %", run.Output);
        Assert.Matches(@"recall vs full\s*│\s*100\.00 %", run.Output);
        Assert.Contains("label decile (1 = head)", run.Output, StringComparison.Ordinal);

        // And a second identical call is skipped from the manifest, still printing the table
        var again = await CliTestHost.RunAsync("run", "step-2", "--dataset", _dataset, "--generations", _generations, "--encoder", _encoder,
            "--orientation", "query", "--threshold", "0.99999", "--top-k", "3", "--knn", "5", "--sweep", "1:0.99999",
            "--device", "cpu", "--chunk-rows", "4", "--out", output);
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Contains("step-2 skipped (up to date)", again.Output, StringComparison.Ordinal);
        Assert.Matches(@"pairs added\s*│\s*6", again.Output);
    }

    [Fact]
    public async Task Bad_input_exits_2_with_one_line_naming_the_problem()
    {
        // A threshold outside [0, 1]
        var threshold = await CliTestHost.RunAsync("run", "step-2", "--dataset", _dataset, "--generations", _generations, "--encoder", _encoder,
            "--threshold", "1.5", "--out", _dir.File("bad"));
        Assert.Equal(2, threshold.ExitCode);
        Assert.Contains("threshold: expected a rescaled score", Assert.Single(threshold.ErrorLines), StringComparison.Ordinal);

        // An unknown orientation
        var orientation = await CliTestHost.RunAsync("run", "step-2", "--dataset", _dataset, "--generations", _generations, "--encoder", _encoder,
            "--orientation", "sideways", "--out", _dir.File("bad"));
        Assert.Equal(2, orientation.ExitCode);
        Assert.Contains("--orientation 'sideways'", Assert.Single(orientation.ErrorLines), StringComparison.Ordinal);

        // A generations folder without step-1's files
        var missing = await CliTestHost.RunAsync("run", "step-2", "--dataset", _dataset, "--generations", _dir.Path, "--encoder", _encoder,
            "--device", "cpu", "--out", _dir.File("bad2"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("raw_rewrites.txt not found", Assert.Single(missing.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("bad2")), "bad input must leave no output folder");
    }

    public void Dispose() => _dir.Dispose();
}
