using System.Text.Json;
using Skim.Core.Datasets;
using Skim.Core.Formats.XcText;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Datasets;

public sealed class MissingLabelSimulationTests
{
    private static readonly MissingLabelSimulationOptions DemoRule = new() { Rate = 0.2, TailBias = 0.5, Seed = 7 };

    // 40 labels over 1000 rows: label l sits on the first 25·(l + 1) rows, so every label has its own
    // frequency and its percentile is exactly l / 39. About 20,500 pairs in all.
    private static CsrMatrix Graded()
    {
        var rows = Enumerable.Range(0, 1000)
            .Select(row => Enumerable.Range(0, 40).Where(l => row < 25 * (l + 1)).ToArray())
            .ToArray();
        return CsrMatrix.FromRows(40, rows);
    }

    [Fact]
    public void Percentiles_are_mid_ranks_of_the_label_frequencies()
    {
        // Frequencies 0, 2, 2, 5: sorted positions 0 | 1, 2 | 3 over L − 1 = 3.
        var train = CsrMatrix.FromRows(4, [[1, 2, 3], [1, 2, 3], [3], [3], [3]]);
        var percentiles = MissingLabelSimulation.FrequencyPercentiles(train);
        Assert.Equal([0, 0.5, 0.5, 1], percentiles);
        var drop = MissingLabelSimulation.DropProbabilities(train, DemoRule);
        Assert.Equal(0.7, drop[0], 12);
        Assert.Equal(0.45, drop[1], 12);
        Assert.Equal(0.2, drop[3], 12);
    }

    [Fact]
    public void Drop_rates_per_frequency_band_follow_the_rule_within_sampling_error()
    {
        var full = Graded();
        var observed = MissingLabelSimulation.Drop(full, DemoRule);
        var before = full.ColumnCounts();
        var after = observed.ColumnCounts();
        // Four bands of ten labels, from the tail (rarest) to the head.
        for (var band = 0; band < 4; band++)
        {
            double pairs = 0, dropped = 0, expected = 0;
            for (var l = band * 10; l < (band + 1) * 10; l++)
            {
                pairs += before[l];
                dropped += before[l] - after[l];
                expected += before[l] * (0.2 + 0.5 * (1 - l / 39.0));
            }
            var rate = dropped / pairs;
            var p = expected / pairs;
            var sigma = Math.Sqrt(p * (1 - p) / pairs);
            Assert.True(Math.Abs(rate - p) < 4 * sigma, $"band {band}: dropped {rate:F4}, the rule says {p:F4} (σ {sigma:F4})");
        }
        // The tail band loses clearly more than the head band.
        Assert.True(1 - (double)after[0] / before[0] > 1 - (double)after[39] / before[39] + 0.2);
    }

    [Fact]
    public void The_same_seed_drops_the_same_pairs_and_another_seed_others()
    {
        var full = Graded();
        var a = MissingLabelSimulation.Drop(full, DemoRule);
        var b = MissingLabelSimulation.Drop(full, DemoRule);
        var c = MissingLabelSimulation.Drop(full, DemoRule with { Seed = 8 });
        Assert.True(a.ContentEquals(b));
        Assert.False(a.ContentEquals(c));
    }

    [Fact]
    public void The_rule_reproduces_the_demo_datasets_drop_rates_per_decile()
    {
        // The demo's trn_X_Y.txt was made from trn_X_Y_full.txt by 0.2 + 0.5 (1 − p) with Python's RNG:
        // the pairs differ, the rates per frequency decile must agree within sampling error.
        var demo = Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo");
        var full = XcSparseText.Read(Path.Combine(demo, XcDatasetFiles.XcFullTrainLabels));
        var observed = XcSparseText.Read(Path.Combine(demo, XcDatasetFiles.XcTrainLabels));
        var ours = MissingLabelSimulation.Drop(full, DemoRule);
        var drop = MissingLabelSimulation.DropProbabilities(full, DemoRule);
        var counts = full.ColumnCounts();
        var order = Enumerable.Range(0, full.Columns).OrderBy(l => counts[l]).ToArray();
        var theirs = observed.ColumnCounts();
        var mine = ours.ColumnCounts();
        for (var d = 0; d < 5; d++)
        {
            var labels = order[(d * order.Length / 5)..((d + 1) * order.Length / 5)];
            double pairs = labels.Sum(l => counts[l]);
            var expected = labels.Sum(l => counts[l] * drop[l]) / pairs;
            var sigma = Math.Sqrt(expected * (1 - expected) / pairs);
            var demoRate = labels.Sum(l => counts[l] - theirs[l]) / pairs;
            var ourRate = labels.Sum(l => counts[l] - mine[l]) / pairs;
            Assert.True(Math.Abs(demoRate - expected) < 4 * sigma, $"quintile {d}: demo dropped {demoRate:F4}, rule {expected:F4}");
            Assert.True(Math.Abs(ourRate - expected) < 4 * sigma, $"quintile {d}: we dropped {ourRate:F4}, rule {expected:F4}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Run_writes_a_dataset_whose_full_matrix_is_the_input_train_matrix(bool dexml)
    {
        using var dir = new TempDirectory();
        var source = dir.File("src");
        Directory.CreateDirectory(source);
        if (dexml)
        {
            DatasetFixture.WriteDexml(source);
        }
        else
        {
            DatasetFixture.WriteXc(source);
        }
        var output = dir.File("out");

        var result = MissingLabelSimulation.Run(source, output, DemoRule with { Rate = 0.5, TailBias = 0.3 });

        var input = XcDataset.Open(source);
        var simulated = XcDataset.Open(output);
        Assert.Equal(input.Layout, simulated.Layout);
        Assert.NotNull(simulated.FullTrainLabels);
        Assert.True(simulated.FullTrainLabels!.ContentEquals(input.TrainLabels));
        Assert.True(simulated.TestLabels.ContentEquals(input.TestLabels));
        Assert.True(simulated.TrainLabels.ContentEquals(MissingLabelSimulation.Drop(input.TrainLabels, DemoRule with { Rate = 0.5, TailBias = 0.3 })));
        Assert.Equal(input.TrainTexts, simulated.TrainTexts);
        Assert.Equal(input.LabelTexts, simulated.LabelTexts);
        Assert.Equal(input.TestFilter.Count, simulated.TestFilter.Count);
        Assert.Equal(result.FullPairs - result.KeptPairs, result.DroppedPairs);
        Assert.Equal(simulated.TrainLabels.NonZeros, result.KeptPairs);
        using var provenance = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, MissingLabelSimulation.ProvenanceFile)));
        Assert.Equal(0.3, provenance.RootElement.GetProperty("tail_bias").GetDouble());
        Assert.Empty(Directory.GetDirectories(dir.Path, ".*"));
    }

    [Fact]
    public void Probabilities_outside_0_to_1_and_a_non_empty_output_are_refused()
    {
        using var dir = new TempDirectory();
        var source = dir.File("src");
        Directory.CreateDirectory(source);
        DatasetFixture.WriteXc(source);
        var error = Assert.Throws<SkimConfigException>(() => MissingLabelSimulation.Run(source, dir.File("o"), new() { Rate = 0.6, TailBias = 0.5 }));
        Assert.Contains("--tail-bias", error.Message, StringComparison.Ordinal);
        Assert.Throws<SkimConfigException>(() => MissingLabelSimulation.Run(source, dir.File("o"), new() { Rate = -0.1 }));
        Assert.Throws<SkimConfigException>(() => MissingLabelSimulation.Run(source, source, new()));
        Assert.False(Directory.Exists(dir.File("o")));
    }
}
