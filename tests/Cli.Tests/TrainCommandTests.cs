using System.Text.Json;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;

namespace Skim.Cli.Tests;

[Collection(CliLibTorchCollection.Name)]
public sealed class TrainCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Train_then_predict_then_eval_scores_the_test_split_with_the_trained_encoder()
    {
        // Given a small dataset
        var dataset = SyntheticXcDataset.Write(_dir);
        var run = _dir.File("run");

        // When an encoder is trained, the test split predicted with it, and the scores evaluated
        var train = await CliTestHost.RunAsync("train", "--dataset", dataset, "--out", run, "--epochs", "2", "--batch-size", "8", "--lr", "1e-3", "--device", "cpu");
        var predict = await CliTestHost.RunAsync("predict", run, "--split", "tst", "--method", "fusion", "--top-k", "5", "--device", "cpu");
        var scores = Path.Combine(run, "tst_scores.npz");
        var eval = await CliTestHost.RunAsync("eval", "--dataset", dataset, "--scores", scores);

        // Then each step succeeds: the epochs' table, a 16 x 8 score matrix with 5 labels per row, and metrics
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.Matches(@"│ 2\s+│", train.Output);
        Assert.True(predict.ExitCode == 0, predict.Error);
        var matrix = SparseNpz.Load(scores);
        Assert.Equal((16, 8), (matrix.Rows, matrix.Columns));
        Assert.All(Enumerable.Range(0, 16), r => Assert.Equal(5, matrix.RowLength(r)));
        Assert.True(eval.ExitCode == 0, eval.Error);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")));
        Assert.InRange(metrics.RootElement.GetProperty("metrics").GetProperty("P").GetProperty("1").GetDouble(), 0, 1);
    }

    [Fact]
    public async Task Label_features_table_trains_a_label_table_that_predict_scores_labels_with()
    {
        // Given a small dataset (with label texts, which the table ignores)
        var dataset = SyntheticXcDataset.Write(_dir);
        var run = _dir.File("run");

        // When an encoder is trained with a label table and the test split predicted by label retrieval
        var train = await CliTestHost.RunAsync("train", "--dataset", dataset, "--out", run, "--epochs", "1", "--batch-size", "8", "--label-features", "table", "--label-table-lr", "5e-3", "--device", "cpu");
        var predict = await CliTestHost.RunAsync("predict", run, "--split", "tst", "--top-k", "3", "--device", "cpu");

        // Then the table sits next to the encoder, the options record it, and predict scored every row
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.True(File.Exists(Path.Combine(run, "encoder", "label_table.npy")));
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "manifest.json")));
        Assert.Equal("table", manifest.RootElement.GetProperty("summary").GetProperty("label_features").GetString());
        Assert.Equal(5e-3, manifest.RootElement.GetProperty("options").GetProperty("label_table_learning_rate").GetDouble());
        Assert.True(predict.ExitCode == 0, predict.Error);
        Assert.All(Enumerable.Range(0, 16), r => Assert.Equal(3, SparseNpz.Load(Path.Combine(run, "tst_scores.npz")).RowLength(r)));
    }

    [Fact]
    public async Task Predict_with_tune_fusion_reports_the_setting_chosen_on_validation_rows()
    {
        // Given a trained run
        var dataset = SyntheticXcDataset.Write(_dir);
        var run = _dir.File("run");
        var train = await CliTestHost.RunAsync("train", "--dataset", dataset, "--out", run, "--epochs", "1", "--batch-size", "8", "--pooling", "mean", "--device", "cpu");

        // When the test split is predicted by tuned fusion
        var predict = await CliTestHost.RunAsync("predict", run, "--method", "fusion", "--tune-fusion", "--top-k", "5", "--device", "cpu");

        // Then the chosen setting is printed and reported beside the scores
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.True(predict.ExitCode == 0, predict.Error);
        Assert.Contains("fusion tuned on 5 validation rows", predict.Output, StringComparison.Ordinal);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "fusion_tuning.json")));
        Assert.Equal(27, report.RootElement.GetProperty("trials").GetArrayLength());
    }

    [Fact]
    public async Task A_train_matrix_of_another_size_is_one_error_line_with_exit_code_2_and_no_run_written()
    {
        // Given a dataset of 48 train points and a matrix of 10 rows
        var dataset = SyntheticXcDataset.Write(_dir);
        var matrix = _dir.File("small.npz");
        SparseNpz.Save(matrix, CsrMatrix.FromRows(8, [.. Enumerable.Range(0, 10).Select(i => new[] { i % 8 })]));

        // When
        var run = await CliTestHost.RunAsync("train", "--dataset", dataset, "--train-matrix", matrix, "--out", _dir.File("run"), "--device", "cpu");

        // Then
        Assert.Equal(SkimCli.InputError, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("10 rows", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("run")));
    }

    [Fact]
    public async Task Predict_refuses_a_folder_that_is_not_a_finished_training_run()
    {
        Directory.CreateDirectory(_dir.File("nothing"));

        var run = await CliTestHost.RunAsync("predict", _dir.File("nothing"));

        Assert.Equal(SkimCli.InputError, run.ExitCode);
        Assert.Contains("finished 'skim train' run", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }
}
