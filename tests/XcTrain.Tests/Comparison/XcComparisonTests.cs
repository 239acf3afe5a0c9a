using System.Buffers.Binary;
using System.Text.Json;
using Skim.Core;
using Skim.Core.Formats.Npz;
using Skim.Core.Metrics;
using Skim.Core.Reports;
using Skim.Core.Stages;
using Skim.XcTrain.Comparison;

namespace Skim.XcTrain.Tests.Comparison;

public sealed class XcComparisonTests
{
    private static XcComparisonReport Compare(ComparisonFixture fixture, TempDirectory dir, Func<XcComparisonOptions, XcComparisonOptions>? change = null)
    {
        var options = new XcComparisonOptions { Runs = [fixture.Baseline, fixture.Skim], DatasetDirectory = fixture.Dataset, OutputDirectory = dir.File("cmp") };
        return XcComparison.Run(change is null ? options : change(options));
    }

    [Fact]
    public void Every_metric_equals_what_skim_eval_reports_for_each_run()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);

        var report = Compare(fixture, dir);

        Assert.Equal(["base", "skim"], report.Runs.Select(r => r.Name));
        foreach (var run in report.Runs)
        {
            var eval = XcEvaluation.Run(new XcEvaluationOptions
            {
                DatasetDirectory = fixture.Dataset,
                ScoresPath = run.Scores,
                OutputPath = dir.File($"{run.Name}.metrics.json"),
            });
            Assert.True(report.Filtered);
            Assert.Equal(eval.PropensityA, report.PropensityA);
            Assert.Equal(eval.PropensityB, report.PropensityB);
            foreach (var (_, name) in XcEvaluation.MetricNames)
            {
                foreach (var k in XcEvaluationOptions.DefaultKs)
                {
                    Assert.Equal(eval.Get(name, k), run.Get(name, k));
                }
            }
        }
        // The differences are against the first run.
        var (first, second) = (report.Runs[0], report.Runs[1]);
        Assert.Equal(second.Get("PSP", 5) - first.Get("PSP", 5), second.Difference["PSP"]["5"]!.Value, 15);
        Assert.Equal(0, first.Difference["P"]["1"]);
    }

    [Fact]
    public void Per_decile_contributions_sum_to_the_overall_metric()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);

        var report = Compare(fixture, dir);

        foreach (var run in report.Runs)
        {
            Assert.Equal(XcComparison.DecileCount, run.DecilePrecision.Count);
            Assert.Equal(run.Get("P", 5), run.DecilePrecision.Sum(), 12);
            Assert.Equal(run.Get("R", 100), run.DecileRecall.Sum(), 12);
            // Hits spread over several deciles: the split is not trivially all in one bucket.
            Assert.True(run.DecilePrecision.Count(v => v > 0) >= 3);
        }
        // The scores of "skim" favour tail labels (id ≥ 10): its gain sits in the later deciles.
        var tail = Enumerable.Range(5, 5);
        Assert.True(tail.Sum(d => report.Runs[1].DecilePrecision[d]) > tail.Sum(d => report.Runs[0].DecilePrecision[d]));
    }

    [Fact]
    public void Decile_one_holds_the_most_frequent_labels_and_all_labels_are_covered()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);

        var report = Compare(fixture, dir);

        Assert.Equal(ComparisonFixture.Labels, report.Deciles.Sum(d => d.Labels));
        Assert.Equal(fixture.Test.NonZeros, report.Deciles.Sum(d => d.TruthPairs));
        for (var d = 1; d < report.Deciles.Count; d++)
        {
            Assert.True(report.Deciles[d - 1].MinTrainFrequency >= report.Deciles[d].MaxTrainFrequency);
        }
        Assert.Equal(fixture.Observed.ColumnCounts().Max(), report.Deciles[0].MaxTrainFrequency);
    }

    [Fact]
    public void Contributions_match_a_direct_count_on_a_tiny_case()
    {
        // 2 points, 10 labels (one per decile; label l has train frequency 10 − l, so decile l + 1).
        var train = Skim.Core.Sparse.CsrMatrix.FromRows(10, [.. Enumerable.Range(0, 10).Select(i => Enumerable.Range(0, 10 - i).ToArray())]);
        var truth = Skim.Core.Sparse.CsrMatrix.FromRows(10, [[0, 9], [3]]);
        var scores = Skim.Core.Sparse.CsrMatrix.FromRows(10, [[0, 5, 9], [1, 3]], [[0.9f, 0.8f, 0.7f], [0.9f, 0.5f]]);
        var (decileOf, _) = XcComparison.Deciles(train, truth);
        Assert.Equal(Enumerable.Range(0, 10), decileOf);
        var top = TopKPredictions.FromSparse(scores, 3);

        var precision = XcComparison.DecileContributions(top, truth, decileOf, 3, recall: false);
        var recall = XcComparison.DecileContributions(top, truth, decileOf, 3, recall: true);

        // Point 0 hits labels 0 and 9 in its top 3, point 1 hits label 3; P@3 = (2/3 + 1/3) / 2.
        Assert.Equal(1.0 / 6, precision[0], 15);
        Assert.Equal(1.0 / 6, precision[9], 15);
        Assert.Equal(1.0 / 6, precision[3], 15);
        Assert.Equal(0.5, precision.Sum(), 15);
        // R@3: point 0 finds 2 of 2 labels (1/2 each), point 1 its only one.
        Assert.Equal(0.25, recall[0], 15);
        Assert.Equal(0.25, recall[9], 15);
        Assert.Equal(0.5, recall[3], 15);
    }

    [Fact]
    public void The_augmented_runs_recovery_of_removed_pairs_is_counted()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);

        var report = Compare(fixture, dir);

        Assert.Null(report.Runs[0].Recovery);
        var recovery = report.Runs[1].Recovery!;
        Assert.Equal(fixture.Full.NonZeros - fixture.Observed.NonZeros, recovery.RemovedPairs);
        Assert.Equal(fixture.RemovedPairs, recovery.RemovedPairs);
        Assert.Equal(fixture.AddedPairs, recovery.AddedPairs);
        Assert.Equal(fixture.RecoveredPairs, recovery.RecoveredPairs);
        Assert.Equal((double)fixture.RecoveredPairs / fixture.RemovedPairs, recovery.Recall, 15);
        Assert.Equal((double)fixture.RecoveredPairs / fixture.AddedPairs, recovery.Precision, 15);
        Assert.Contains(XcComparisonWriter.RecoveryCsv, report.Files);
    }

    [Fact]
    public void The_report_folder_holds_tables_pngs_markdown_and_json()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);

        var report = Compare(fixture, dir);

        var folder = dir.File("cmp");
        foreach (var file in report.Files)
        {
            Assert.True(File.Exists(Path.Combine(folder, file)), file);
        }
        var pngs = report.Files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, pngs.Count);
        foreach (var png in pngs)
        {
            var bytes = File.ReadAllBytes(Path.Combine(folder, png));
            Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], bytes[..8]);
            Assert.Equal(Charts.Width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
            Assert.Equal(Charts.Height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4)));
        }
        var markdown = File.ReadAllText(Path.Combine(folder, XcComparison.MarkdownFile));
        foreach (var png in pngs)
        {
            Assert.Contains($"]({png})", markdown, StringComparison.Ordinal);
        }
        Assert.Contains("decile 1 = most frequent", markdown, StringComparison.Ordinal);
        // P@1 of each run as a percentage, and the difference column.
        Assert.Contains((report.Runs[0].Get("P", 1) * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture), markdown, StringComparison.Ordinal);
        Assert.Contains("| skim - base |", markdown, StringComparison.Ordinal);

        var csv = File.ReadAllLines(Path.Combine(folder, XcComparisonWriter.MetricsCsv));
        Assert.Equal("metric,k,base,skim,skim - base", csv[0]);
        Assert.Equal(1 + (5 * 5), csv.Length);
        var p5 = csv.Single(line => line.StartsWith("P,5,", StringComparison.Ordinal)).Split(',');
        Assert.Equal(report.Runs[1].Get("P", 5), double.Parse(p5[3], System.Globalization.CultureInfo.InvariantCulture), 12);
        var deciles = File.ReadAllLines(Path.Combine(folder, XcComparisonWriter.DecilesCsv));
        Assert.Equal(11, deciles.Length);
        Assert.StartsWith("decile,labels,min_train_frequency,max_train_frequency,truth_pairs,base P@5,skim P@5,base R@100,skim R@100", deciles[0], StringComparison.Ordinal);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, XcComparison.JsonFile)));
        var runs = json.RootElement.GetProperty("runs");
        Assert.Equal(2, runs.GetArrayLength());
        Assert.Equal(report.Runs[1].Get("R", 100), runs[1].GetProperty("metrics").GetProperty("R").GetProperty("100").GetDouble(), 15);
        Assert.Equal(10, runs[0].GetProperty("decile_precision").GetArrayLength());
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
    }

    [Fact]
    public void Another_truth_of_the_splits_shape_is_scored_instead()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);
        var truthPath = dir.File("truth.npz");
        var truth = ComparisonFixture.Scores(fixture.Test, 5, 0).TopKPerRow(2).Binarize();
        SparseNpz.Save(truthPath, truth);

        var report = Compare(fixture, dir, o => o with { TruthPath = truthPath });

        var scores = SparseNpz.Load(report.Runs[0].Scores);
        var direct = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions
        {
            MaxK = 100,
            InversePropensity = InversePropensity.Compute(fixture.Observed, report.PropensityA, report.PropensityB),
            Filter = new PredictionFilter(truth.Rows, truth.Columns, [0, 1], [fixture.Test.RowIndices(0)[0], (fixture.Test.RowIndices(1)[0] + 1) % ComparisonFixture.Labels]),
        });
        Assert.Equal(direct.Get(XcMetric.Precision, 3), report.Runs[0].Get("P", 3));
        Assert.Equal(direct.Get(XcMetric.PsNdcg, 10), report.Runs[0].Get("PSnDCG", 10));
        Assert.Equal(truth.NonZeros, report.Deciles.Sum(d => d.TruthPairs));
    }

    [Fact]
    public void Runs_of_different_datasets_are_refused_naming_both()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);
        var other = dir.File("other-ds");
        var stray = ComparisonFixture.WriteRun(dir.File("runs/stray"), other, null, ComparisonFixture.Scores(fixture.Test, 3, 0));

        var error = Assert.Throws<SkimConfigException>(() => XcComparison.Run(new XcComparisonOptions { Runs = [fixture.Baseline, stray], OutputDirectory = dir.File("cmp") }));
        Assert.Contains(fixture.Dataset, error.Message, StringComparison.Ordinal);
        Assert.Contains(other, error.Message, StringComparison.Ordinal);

        var withDataset = Assert.Throws<SkimConfigException>(() => Compare(fixture, dir, o => o with { Runs = [fixture.Baseline, stray] }));
        Assert.Contains(other, withDataset.Message, StringComparison.Ordinal);
        Assert.Contains("--dataset", withDataset.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.File("cmp")));
    }

    [Fact]
    public void Missing_scores_another_split_and_a_misshapen_truth_each_get_one_clear_error()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);

        File.Delete(Path.Combine(fixture.Skim, "tst_scores.npz"));
        var missing = Assert.Throws<SkimConfigException>(() => Compare(fixture, dir));
        Assert.Contains("tst_scores.npz", missing.Message, StringComparison.Ordinal);
        Assert.Contains("skim predict", missing.Message, StringComparison.Ordinal);

        var trainScores = dir.File("trn_scores.npz");
        File.Copy(Path.Combine(fixture.Baseline, "tst_scores.npz"), trainScores);
        var split = Assert.Throws<SkimConfigException>(() => Compare(fixture, dir, o => o with { Runs = [fixture.Baseline, trainScores] }));
        Assert.Contains("split trn", split.Message, StringComparison.Ordinal);

        var badTruth = dir.File("bad.npz");
        SparseNpz.Save(badTruth, fixture.Observed);
        var shape = Assert.Throws<SkimFormatException>(() => Compare(fixture, dir, o => o with { Runs = [fixture.Baseline], TruthPath = badTruth }));
        Assert.Contains("bad.npz", shape.Message, StringComparison.Ordinal);
        Assert.Contains("120 x 30", shape.Message, StringComparison.Ordinal);
        Assert.Contains("40 x 30", shape.Message, StringComparison.Ordinal);

        var wrongNames = Assert.Throws<SkimConfigException>(() => Compare(fixture, dir, o => o with { Runs = [fixture.Baseline], Names = ["a", "b"] }));
        Assert.Contains("--names", wrongNames.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_score_file_can_stand_for_a_run_and_names_can_be_given()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);

        var report = Compare(fixture, dir, o => o with { Runs = [Path.Combine(fixture.Baseline, "tst_scores.npz"), fixture.Skim], Names = ["A", "B"], DatasetDirectory = null });

        Assert.Equal(["A", "B"], report.Runs.Select(r => r.Name));
        Assert.Equal(Path.GetFullPath(fixture.Dataset), report.Dataset);
        Assert.Equal(Path.GetFullPath(fixture.AugmentedPath), report.Runs[1].TrainMatrix);
    }

    [Fact]
    public async Task The_compare_stage_writes_a_complete_manifest_and_is_then_up_to_date()
    {
        using var dir = new TempDirectory();
        var fixture = new ComparisonFixture(dir);
        IStage stage = new CompareStage();
        var options = new XcComparisonOptions { Runs = [fixture.Baseline, fixture.Skim], DatasetDirectory = fixture.Dataset };

        Assert.Equal(StageAction.Run, StageFreshness.Decide(stage, options).Action);
        var summary = await stage.RunAsync(options, null, CancellationToken.None);

        // Without --out the report goes to compare/ beside the first run.
        Assert.Equal(dir.File("runs/compare"), stage.OutputDirectory(options));
        Assert.True(File.Exists(dir.File("runs/compare/compare.md")));
        Assert.Equal(2, summary["runs"]!.GetValue<int>());
        Assert.NotNull(summary["skim PSP@5"]);
        Assert.Equal(StageAction.Skip, StageFreshness.Decide(stage, options).Action);

        // New scores for a run make the stage stale.
        SparseNpz.Save(Path.Combine(fixture.Skim, "tst_scores.npz"), ComparisonFixture.Scores(fixture.Test, 99, 0));
        Assert.Equal(StageAction.Rerun, StageFreshness.Decide(stage, options).Action);
    }
}
