using System.Text.Json.Nodes;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Manifests;
using Skim.Core.Sparse;

namespace Skim.Cli.Tests;

[Collection(CliLibTorchCollection.Name)]
public sealed class ClassifierCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Train_then_classifier_train_then_predict_with_classifier_fusion_writes_top_k_scores()
    {
        // Given an encoder trained on a small dataset
        var dataset = SyntheticXcDataset.Write(_dir);
        var run = _dir.File("run");
        var train = await CliTestHost.RunAsync("train", "--dataset", dataset, "--out", run, "--epochs", "1", "--batch-size", "8", "--device", "cpu");
        Assert.True(train.ExitCode == 0, train.Error);

        // When the classifier trains over it and the test split is predicted with the tree and the sum fusion
        var classifier = await CliTestHost.RunAsync("classifier", "train", run, "--epochs", "3", "--batch-size", "16", "--shortlist", "4", "--device", "cpu");
        var tree = await CliTestHost.RunAsync("predict", run, "--method", "classifier-fusion", "--top-k", "5", "--device", "cpu", "--out", _dir.File("tree.npz"));
        var sum = await CliTestHost.RunAsync("predict", run, "--method", "classifier-fusion", "--fusion", "sum", "--fusion-weight", "0", "--top-k", "5", "--device", "cpu", "--out", _dir.File("sum.npz"));
        var alone = await CliTestHost.RunAsync("predict", run, "--method", "classifier", "--top-k", "5", "--device", "cpu", "--out", _dir.File("alone.npz"));

        // Then the classifier folder holds its vectors (labels × D), log and manifest, and every
        // prediction is a 16 x 8 matrix with 5 labels per row; weight 0 is the classifier's file
        Assert.True(classifier.ExitCode == 0, classifier.Error);
        Assert.Matches(@"│ 3\s+│", classifier.Output);
        var vectors = NpyFile.Read(Path.Combine(run, "classifier", "classifier.npy"));
        Assert.Equal(8, vectors.Shape[0]);
        Assert.True(File.Exists(Path.Combine(run, "classifier", "train_log.csv")));
        Assert.True(RunManifest.Read(Path.Combine(run, "classifier"))!.Complete);
        foreach (var (result, file) in new[] { (tree, "tree.npz"), (sum, "sum.npz"), (alone, "alone.npz") })
        {
            Assert.True(result.ExitCode == 0, result.Error);
            var matrix = SparseNpz.Load(_dir.File(file));
            Assert.Equal((16, 8), (matrix.Rows, matrix.Columns));
            Assert.All(Enumerable.Range(0, 16), r => Assert.Equal(5, matrix.RowLength(r)));
        }
        Assert.Equal(File.ReadAllBytes(_dir.File("alone.npz")), File.ReadAllBytes(_dir.File("sum.npz")));
    }

    [Fact]
    public async Task A_run_folder_without_an_encoder_is_one_error_line_naming_the_encoder_folder()
    {
        // Given a finished train manifest but no encoder/
        var run = FakeRun(withEncoder: false);

        // When
        var result = await CliTestHost.RunAsync("classifier", "train", run, "--device", "cpu");

        // Then
        Assert.Equal(SkimCli.InputError, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("encoder", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(run, "classifier")));
    }

    [Fact]
    public async Task A_train_matrix_of_another_shape_is_one_error_line_naming_the_file_and_both_shapes()
    {
        // Given a run over a 48 x 8 dataset and a 10 x 8 matrix
        var run = FakeRun(withEncoder: true);
        var matrix = _dir.File("small.npz");
        SparseNpz.Save(matrix, CsrMatrix.FromRows(8, [.. Enumerable.Range(0, 10).Select(i => new[] { i % 8 })]));

        // When
        var result = await CliTestHost.RunAsync("classifier", "train", run, "--train-matrix", matrix, "--device", "cpu");

        // Then
        Assert.Equal(SkimCli.InputError, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("small.npz", line, StringComparison.Ordinal);
        Assert.Contains("10 x 8", line, StringComparison.Ordinal);
        Assert.Contains("48 x 8", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(run, "classifier")));
    }

    [Fact]
    public async Task An_unknown_prediction_method_is_one_error_line_listing_the_methods()
    {
        var run = FakeRun(withEncoder: true);

        var result = await CliTestHost.RunAsync("predict", run, "--method", "svm");

        Assert.Equal(SkimCli.InputError, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("svm", line, StringComparison.Ordinal);
        Assert.Contains("classifier-fusion", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predicting_with_a_classifier_that_was_never_trained_is_one_error_line()
    {
        var run = FakeRun(withEncoder: true);

        var result = await CliTestHost.RunAsync("predict", run, "--method", "classifier", "--device", "cpu");

        Assert.Equal(SkimCli.InputError, result.ExitCode);
        Assert.Contains("skim classifier train", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    // A folder that looks like a finished skim train run over the synthetic dataset; its encoder
    // folder, when present, holds only the settings (enough for the checks that come before loading).
    private string FakeRun(bool withEncoder)
    {
        var dataset = SyntheticXcDataset.Write(_dir);
        var run = _dir.File("fake-run");
        Directory.CreateDirectory(run);
        new RunManifest { Stage = "train", Options = new JsonObject { ["dataset_directory"] = dataset }, Complete = true }.Write(run);
        if (withEncoder)
        {
            Directory.CreateDirectory(Path.Combine(run, "encoder"));
            File.WriteAllText(Path.Combine(run, "encoder", "skim_encoder.json"), """{"pooling":"mean","normalize":true,"max_length":16}""");
        }
        return run;
    }
}
