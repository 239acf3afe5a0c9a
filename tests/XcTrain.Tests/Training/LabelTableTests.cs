using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.XcTrain.Classifiers.Miv;
using Skim.Core.Manifests;
using Skim.Core.Metrics;
using Skim.Core.Sparse;
using Skim.XcTrain.Prediction;
using Skim.XcTrain.Tests.Classifiers;
using Skim.XcTrain.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Skim.XcTrain.Tests.Training;

[Collection(LibTorchCollection.Name)]
public sealed class LabelTableTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Centroid_initialisation_is_each_labels_unit_mean_train_point_and_a_seeded_unit_direction_otherwise()
    {
        // Given three train rows in 2-D and a matrix linking them to labels 0 and 1 (label 2 has no row;
        // row 1's link to label 0 has relevance 0 and does not count)
        float[] points = [1, 0, 0, 2, 3, 4];
        var matrix = new CsrMatrix(3, 3, [0, 2, 3, 5], [0, 1, 0, 0, 1], [1, 1, 0, 1, 0.5f]);

        // When the table is built from centroids, twice with one seed and once with another
        using var table = LabelTable.FromCentroids(points, [0, 1, 2], matrix, 2, normalize: false, seed: 3, CPU);
        using var again = LabelTable.FromCentroids(points, [0, 1, 2], matrix, 2, normalize: false, seed: 3, CPU);
        using var other = LabelTable.FromCentroids(points, [0, 1, 2], matrix, 2, normalize: false, seed: 4, CPU);
        var values = table.Embeddings();

        // Then label 0 is the unit mean of rows 0 and 2, label 1 of rows 0 and 2 as well, label 2 a
        // unit vector fixed by the seed
        var mean = new[] { 2.0, 2.0 };
        var norm = Math.Sqrt(8);
        Assert.Equal(mean[0] / norm, values[0], 6);
        Assert.Equal(mean[1] / norm, values[1], 6);
        Assert.Equal(mean[0] / norm, values[2], 6);
        Assert.Equal(1.0, Math.Sqrt((values[4] * values[4]) + (values[5] * values[5])), 5);
        Assert.Equal(values, again.Embeddings());
        Assert.NotEqual(values[4], other.Embeddings()[4]);
    }

    [Fact]
    public void Label_text_features_on_a_dataset_without_label_texts_are_a_data_error_and_leave_no_run_folder()
    {
        // Given the demo dataset without its label corpus
        var dataset = DemoWithoutLabelTexts();

        // When training is asked to encode label texts
        var run = _dir.File("run");
        var error = Assert.Throws<SkimDataException>(() => XcTrainer.RunAsync(new XcTrainOptions
        {
            DatasetDirectory = dataset, OutputDirectory = run, LabelFeatures = LabelFeatureKind.Text, Device = "cpu",
        }).GetAwaiter().GetResult());

        // Then one line names the dataset and the way out, and nothing was created
        Assert.Contains(dataset, error.Message, StringComparison.Ordinal);
        Assert.Contains("--label-features table", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(run));
    }

    [Theory]
    [InlineData("ngame")]
    [InlineData("dexml")]
    public async Task A_dataset_without_label_texts_trains_a_label_table_that_beats_its_start_and_predicts_test_labels(string model)
    {
        // Given the demo dataset without label texts and a tiny random encoder
        var dataset = DemoWithoutLabelTexts();
        var run = _dir.File("run");
        var options = new XcTrainOptions
        {
            DatasetDirectory = dataset,
            OutputDirectory = run,
            Model = XcTrainOptions.ParseModel(model),
            Pooling = "mean",
            Epochs = 4,
            BatchSize = 32,
            LearningRate = 2e-3,
            ClusterEpochs = [2, 3],
            Device = "cpu",
            Seed = 1,
        };

        // When it trains with the default (auto) label features, then predicts the test split by label retrieval
        var result = await XcTrainer.RunAsync(options);
        var prediction = XcPredictor.Run(new XcPredictOptions { RunDirectory = run, Device = "cpu" });

        // Then auto chose the table, validation beats the centroid start (epoch 0) clearly, the table
        // travels with the encoder, and test P@1 is far above chance (1 in 1,708 labels)
        var before = result.Records[0].Validation;
        var after = result.Records[^1].Validation;
        var test = XcDataset.Open(TrainingFixtures.Demo);
        var metrics = XcMetrics.Evaluate(SparseNpz.Load(prediction.ScoresPath), test.TestLabels, new XcMetricsOptions { MaxK = 5, Filter = new PredictionFilter(test.TestLabels.Rows, test.NumLabels, test.TestFilter.Points, test.TestFilter.Labels) });
        output.WriteLine($"{model}: validation P@1 {before["P@1"]:F4} -> {after["P@1"]:F4}, R@10 {before["R@10"]:F4} -> {after["R@10"]:F4}; test P@1 {metrics.Get(XcMetric.Precision, 1):F4}, P@5 {metrics.Get(XcMetric.Precision, 5):F4}; {result.Elapsed.TotalSeconds:F1} s");
        Assert.Equal("table", RunManifest.Read(run)!.Summary!["label_features"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(result.EncoderDirectory, LabelTable.FileName)));
        Assert.True(after["P@1"] >= before["P@1"] + 0.02, $"P@1 {before["P@1"]:F4} -> {after["P@1"]:F4}");
        Assert.True(after["R@10"] >= before["R@10"] + 0.04, $"R@10 {before["R@10"]:F4} -> {after["R@10"]:F4}");
        Assert.True(metrics.Get(XcMetric.Precision, 1) >= 0.05, $"test P@1 {metrics.Get(XcMetric.Precision, 1):F4}");

        // And an M-IV classifier over the run starts from the table's label embeddings
        var classifier = await MivTrainer.RunAsync(new MivOptions { RunDirectory = run, Epochs = 1, Device = "cpu", Seed = 1 });
        var cached = NpyFile.Read(Path.Combine(classifier.OutputDirectory, MivTrainer.LabelEmbeddingsFileName)).As<float>();
        Assert.Equal(LabelTable.ReadEmbeddings(result.EncoderDirectory, test.NumLabels, cached.Length / test.NumLabels, normalize: true), cached);
    }

    // A copy of the demo dataset without lbl.json.gz: label ids only.
    private string DemoWithoutLabelTexts()
    {
        var copy = _dir.File("demo-no-label-texts");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(TrainingFixtures.Demo).Where(f => Path.GetFileName(f) != XcDatasetFiles.XcLabelCorpus))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }
        Assert.False(XcDataset.Open(copy).HasLabelTexts);
        return copy;
    }
}
