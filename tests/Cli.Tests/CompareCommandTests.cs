using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npz;
using Skim.Core.Manifests;
using Skim.Core.Metrics;
using Skim.Core.Sparse;

namespace Skim.Cli.Tests;

public class CompareCommandTests
{
    private const int Labels = 20;

    // A DEXML dataset of 60 train and 30 test points over 20 head-heavy labels, and two run folders
    // (a train manifest and tst_scores.npz each) whose scores differ — no training needed.
    private static (string Dataset, string Base, string Other) Fixture(TempDirectory dir)
    {
        var dataset = dir.File("ds");
        Directory.CreateDirectory(Path.Combine(dataset, "raw"));
        var train = Labelled(60, seed: 1);
        var test = Labelled(30, seed: 2);
        File.WriteAllLines(Path.Combine(dataset, XcDatasetFiles.DexmlTrainTexts), Enumerable.Range(0, 60).Select(i => $"train {i}"));
        File.WriteAllLines(Path.Combine(dataset, XcDatasetFiles.DexmlTestTexts), Enumerable.Range(0, 30).Select(i => $"test {i}"));
        File.WriteAllLines(Path.Combine(dataset, XcDatasetFiles.DexmlLabelTexts), Enumerable.Range(0, Labels).Select(l => $"label {l}"));
        SparseNpz.Save(Path.Combine(dataset, XcDatasetFiles.DexmlTrainLabels), train);
        SparseNpz.Save(Path.Combine(dataset, XcDatasetFiles.DexmlTestLabels), test);
        File.WriteAllText(Path.Combine(dataset, XcDatasetFiles.TestFilter), string.Create(CultureInfo.InvariantCulture, $"0 {test.RowIndices(0)[0]}\n"));
        return (dataset, Run(dir.File("runs/base"), dataset, Scores(test, 10, 0)), Run(dir.File("runs/other"), dataset, Scores(test, 11, 0.5)));
    }

    private static CsrMatrix Labelled(int rows, int seed)
    {
        var random = new Random(seed);
        return CsrMatrix.FromRows(Labels, [.. Enumerable.Range(0, rows).Select(_ =>
            Enumerable.Range(0, 1 + random.Next(3)).Select(_ => (int)(Labels * Math.Pow(random.NextDouble(), 2))).Distinct().Order().ToArray())]);
    }

    private static CsrMatrix Scores(CsrMatrix truth, int seed, double tailBonus)
    {
        var random = new Random(seed);
        var all = Enumerable.Range(0, Labels).ToArray();
        return CsrMatrix.FromRows(Labels, [.. Enumerable.Range(0, truth.Rows).Select(_ => all)],
            [.. Enumerable.Range(0, truth.Rows).Select(i => all.Select(l =>
                (float)(random.NextDouble() + (truth.RowIndices(i).Contains(l) ? 0.4 + (l >= 5 ? tailBonus : 0) : 0))).ToArray())]);
    }

    private static string Run(string folder, string dataset, CsrMatrix scores)
    {
        Directory.CreateDirectory(folder);
        new RunManifest { Stage = "train", Options = new JsonObject { ["dataset_directory"] = dataset }, Complete = true }.Write(folder);
        SparseNpz.Save(Path.Combine(folder, "tst_scores.npz"), scores);
        return folder;
    }

    [Fact]
    public async Task Compare_prints_the_table_and_writes_pngs_and_a_report_with_skim_evals_values()
    {
        // Given two runs of one dataset
        using var dir = new TempDirectory();
        var (dataset, baseline, other) = Fixture(dir);

        // When they are compared (output folder by default beside the first run)
        var run = await CliTestHost.RunAsync("compare", baseline, other, "--dataset", dataset, "--names", "A,B");

        // Then the table shows both runs and the difference, with the values skim eval gives
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal("", run.Error);
        Assert.Contains("B - A", run.Output, StringComparison.Ordinal);
        Assert.Contains("decile 1 = most frequent", run.Output, StringComparison.Ordinal);
        var folder = dir.File("runs/compare");
        foreach (var (name, scores) in new[] { ("A", baseline), ("B", other) })
        {
            var eval = XcEvaluation.Run(new XcEvaluationOptions
            {
                DatasetDirectory = dataset,
                ScoresPath = Path.Combine(scores, "tst_scores.npz"),
                OutputPath = dir.File($"{name}.json"),
            });
            var p1 = (eval.Get("P", 1) * 100).ToString("F2", CultureInfo.InvariantCulture);
            var psp5 = (eval.Get("PSP", 5) * 100).ToString("F2", CultureInfo.InvariantCulture);
            Assert.Matches($@"│\s*P\s*│\s*1\s*│.*{System.Text.RegularExpressions.Regex.Escape(p1)}", run.Output);
            Assert.Matches($@"│\s*PSP\s*│\s*5\s*│.*{System.Text.RegularExpressions.Regex.Escape(psp5)}", run.Output);
            Assert.Contains(psp5, File.ReadAllText(Path.Combine(folder, "compare.md")), StringComparison.Ordinal);
        }

        // And the PNGs are real images of the chart size, embedded in the report
        var pngs = Directory.GetFiles(folder, "*.png");
        Assert.Equal(7, pngs.Length);
        var markdown = File.ReadAllText(Path.Combine(folder, "compare.md"));
        foreach (var png in pngs)
        {
            var bytes = File.ReadAllBytes(png);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
            Assert.Equal(Skim.Core.Reports.Charts.Width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
            Assert.Contains($"]({Path.GetFileName(png)})", markdown, StringComparison.Ordinal);
        }
        Assert.True(File.Exists(Path.Combine(folder, "compare.json")));
        Assert.Equal("metric,k,A,B,B - A", File.ReadLines(Path.Combine(folder, "metrics.csv")).First());
    }

    [Fact]
    public async Task Runs_of_different_datasets_exit_2_naming_both()
    {
        using var dir = new TempDirectory();
        var (dataset, baseline, _) = Fixture(dir);
        var stray = Run(dir.File("runs/stray"), dir.File("elsewhere"), Scores(Labelled(30, 2), 3, 0));

        var run = await CliTestHost.RunAsync("compare", baseline, stray, "--out", dir.File("cmp"));

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains(dataset, line, StringComparison.Ordinal);
        Assert.Contains(dir.File("elsewhere"), line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.File("cmp")));
    }

    [Fact]
    public async Task A_missing_score_file_and_a_misshapen_truth_exit_2_with_one_line()
    {
        using var dir = new TempDirectory();
        var (dataset, baseline, other) = Fixture(dir);
        File.Delete(Path.Combine(other, "tst_scores.npz"));

        var missing = await CliTestHost.RunAsync("compare", baseline, other, "--dataset", dataset);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("tst_scores.npz", Assert.Single(missing.ErrorLines), StringComparison.Ordinal);

        var truth = dir.File("truth.npz");
        SparseNpz.Save(truth, CsrMatrix.Empty(29, Labels));
        var shape = await CliTestHost.RunAsync("compare", baseline, "--dataset", dataset, "--truth", truth);
        Assert.Equal(2, shape.ExitCode);
        Assert.Contains("29 x 20", Assert.Single(shape.ErrorLines), StringComparison.Ordinal);
    }
}
