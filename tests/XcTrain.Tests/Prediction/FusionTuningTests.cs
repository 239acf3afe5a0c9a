using System.Text.Json;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;
using Skim.Models.Search;
using Skim.XcTrain.Prediction;
using Skim.XcTrain.Tests.Classifiers;
using Skim.XcTrain.Tests.Training;
using Skim.XcTrain.Training;

namespace Skim.XcTrain.Tests.Prediction;

[Collection(LibTorchCollection.Name)]
public sealed class FusionTuningTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Validation_rows_are_scored_against_the_other_train_points_never_themselves()
    {
        // Given four train points: 0 and 1 trained on, 2 and 3 held out, each with a label only it carries;
        // 2 sits on 0 and 3 on 1, and labels 2 and 3 are embedded next to points 2 and 3
        float[] points = [1, 0, 0, 1, 1, 0, 0, 1];
        var labels = EmbeddingRows.FromArray([-1, 0, 0, -1, 1, 0, 0, 1], 4, 2, "labels");
        var matrix = CsrMatrix.FromRows(4, [[0], [1], [2], [3]], [[1f], [1f], [1f], [1f]]);

        // When the fusion is tuned
        var result = FusionTuning.Tune(points, labels, matrix, FilterPairs.Empty, [0, 1], [2, 3], topK: 4, device: "cpu", seed: 0);

        // Then instance kNN alone (weight 0) finds only the other points' labels: were the held-out rows in
        // the index, each would find itself and its own label; label retrieval alone is perfect
        Assert.Equal(2, result.Rows);
        Assert.All(result.Trials, t => Assert.Equal(2, t.Neighbours));
        Assert.Equal(FusionTuning.Weights.Count, result.Trials.Count);
        Assert.Equal(0, result.Trials.Single(t => t.Weight == 0).Objective);
        Assert.Equal(1, result.Trials.Single(t => t.Weight == 1).Objective);
        Assert.Equal(0.5, result.Trials.Single(t => t.Weight == 0.25).Objective);
        Assert.Equal(1, result.Trials.Single(t => t.Weight == result.Weight).Objective);
    }

    [Fact]
    public async Task Tuned_fusion_writes_its_report_and_scores_as_the_chosen_setting_given_explicitly()
    {
        // Given a trained run on a small dataset (10 % of its labelled train points held out)
        var dataset = TrainingFixtures.Synthetic(_dir);
        var run = _dir.File("run");
        await XcTrainer.RunAsync(new XcTrainOptions { DatasetDirectory = dataset, OutputDirectory = run, Epochs = 1, BatchSize = 8, Pooling = "mean", Device = "cpu", Seed = 3 });

        // When the test split is predicted by tuned fusion, then with the chosen setting given explicitly
        var tuned = XcPredictor.Run(new XcPredictOptions { RunDirectory = run, Method = PredictionMethod.Fusion, TuneFusion = true, TopK = 5, Device = "cpu", OutputPath = _dir.File("tuned.npz") });
        var chosen = tuned.Tuning!;
        var explicitly = XcPredictor.Run(new XcPredictOptions
        {
            RunDirectory = run, Method = PredictionMethod.Fusion, FusionWeight = chosen.Weight, Neighbours = chosen.Neighbours, TopK = 5, Device = "cpu", OutputPath = _dir.File("explicit.npz"),
        });

        // Then the report lists every setting with train points enough (48 points, 5 held out: k 5, 10, 20),
        // the choice is the best, and the scores are the explicit setting's
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(tuned.ScoresPath)!, FusionTuning.FileName)));
        Assert.Equal(chosen.Weight, report.RootElement.GetProperty("weight").GetDouble());
        Assert.Equal(3 * FusionTuning.Weights.Count, chosen.Trials.Count);
        Assert.Equal(chosen.Trials.Max(t => t.Objective), chosen.Trials.First(t => t.Weight == chosen.Weight && t.Neighbours == chosen.Neighbours).Objective);
        Assert.Equal(5, chosen.Rows);
        Assert.True(SparseNpz.Load(tuned.ScoresPath).ContentEquals(SparseNpz.Load(explicitly.ScoresPath)));
    }

    [Fact]
    public async Task Tuning_a_run_without_validation_rows_is_a_configuration_error()
    {
        // Given a run trained without a validation split
        var dataset = TrainingFixtures.Synthetic(_dir);
        var run = _dir.File("run");
        await XcTrainer.RunAsync(new XcTrainOptions { DatasetDirectory = dataset, OutputDirectory = run, Epochs = 1, BatchSize = 8, ValidationFraction = 0, Device = "cpu" });

        // When fusion is to be tuned on it
        var error = Assert.Throws<SkimConfigException>(() => XcPredictor.Run(new XcPredictOptions { RunDirectory = run, Method = PredictionMethod.Fusion, TuneFusion = true, Device = "cpu" }));

        // Then the error names the option and the way out
        Assert.StartsWith("tune_fusion:", error.Message, StringComparison.Ordinal);
        Assert.Contains("--validation-fraction", error.Message, StringComparison.Ordinal);
    }
}
