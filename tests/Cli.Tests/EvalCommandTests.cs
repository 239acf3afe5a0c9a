using System.Text.Json;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;

namespace Skim.Cli.Tests;

public class EvalCommandTests
{
    [Fact]
    public async Task Eval_prints_the_metric_table_and_writes_metrics_json_next_to_the_scores()
    {
        // Given the worked example of docs/xc-formats-and-metrics.md §3.3 as a DEXML-layout dataset
        using var dir = new TempDirectory();
        var dataset = GoldenDataset(dir, filterPairs: []);
        var scores = dir.File("run/scores.npz");
        Directory.CreateDirectory(dir.File("run"));
        SparseNpz.Save(scores, GoldenScores());

        // When
        var run = await CliTestHost.RunAsync("eval", "--dataset", dataset, "--scores", scores, "--k", "5,1,3");

        // Then the table holds pyxclib's numbers (× 100) and metrics.json the fractions
        Assert.Equal(0, run.ExitCode);
        Assert.Matches(@"P\s.*75\.00.*41\.67.*25\.00", run.Output);
        Assert.Matches(@"nDCG\s.*75\.00.*70\.99.*70\.99", run.Output);
        Assert.Matches(@"PSP\s.*93\.43.*100\.00.*100\.00", run.Output);
        Assert.Matches(@"PSnDCG\s.*93\.43.*92\.98.*92\.98", run.Output);
        Assert.Matches(@"R\s.*50\.00.*75\.00.*75\.00", run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("run/metrics.json")));
        var root = json.RootElement;
        Assert.Equal(5.0 / 12, root.GetProperty("metrics").GetProperty("P").GetProperty("3").GetDouble(), 12);
        Assert.Equal(0.75, root.GetProperty("metrics").GetProperty("R").GetProperty("5").GetDouble(), 12);
        Assert.Equal([1, 3, 5], root.GetProperty("k").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(0.55, root.GetProperty("A").GetDouble());
        Assert.Equal(1.5, root.GetProperty("B").GetDouble());
        Assert.Equal("tst", root.GetProperty("split").GetString());
        Assert.Equal(Path.GetFullPath(scores), root.GetProperty("inputs").GetProperty("scores").GetString());
        var counts = root.GetProperty("counts");
        Assert.Equal(4, counts.GetProperty("points").GetInt32());
        Assert.Equal(6, counts.GetProperty("labels").GetInt32());
        Assert.Equal(1, counts.GetProperty("points_without_labels").GetInt32());
        Assert.Equal(5, counts.GetProperty("train_points").GetInt32());
    }

    [Fact]
    public async Task Eval_removes_the_split_filter_pairs_unless_told_not_to()
    {
        // Given the worked example with a test filter on (point 0, label 0), a correct prediction
        using var dir = new TempDirectory();
        var dataset = GoldenDataset(dir, filterPairs: [(0, 0)]);
        var scores = dir.File("scores.npz");
        SparseNpz.Save(scores, GoldenScores());

        // When
        var filtered = await CliTestHost.RunAsync("eval", "--dataset", dataset, "--scores", scores, "--k", "1", "--out", dir.File("filtered.json"));
        var unfiltered = await CliTestHost.RunAsync("eval", "--dataset", dataset, "--scores", scores, "--k", "1", "--out", dir.File("unfiltered.json"), "--no-filter");

        // Then P@1 drops from 3/4 to 2/4 with the filter
        Assert.Equal(0, filtered.ExitCode);
        Assert.Equal(0, unfiltered.ExitCode);
        using var withFilter = JsonDocument.Parse(File.ReadAllText(dir.File("filtered.json")));
        using var withoutFilter = JsonDocument.Parse(File.ReadAllText(dir.File("unfiltered.json")));
        Assert.Equal(0.5, P1(withFilter), 12);
        Assert.True(withFilter.RootElement.GetProperty("filtered").GetBoolean());
        Assert.Equal(1, withFilter.RootElement.GetProperty("counts").GetProperty("filter_pairs").GetInt32());
        Assert.Equal(0.75, P1(withoutFilter), 12);
        Assert.False(withoutFilter.RootElement.GetProperty("filtered").GetBoolean());
    }

    [Fact]
    public async Task Eval_takes_A_and_B_from_the_command_line()
    {
        // Given the worked example
        using var dir = new TempDirectory();
        var dataset = GoldenDataset(dir, filterPairs: []);
        var scores = dir.File("scores.npz");
        SparseNpz.Save(scores, GoldenScores());

        // When
        var run = await CliTestHost.RunAsync("eval", "--dataset", dataset, "--scores", scores, "--A", "0.6", "--B", "2.6", "--k", "1");

        // Then
        Assert.Equal(0, run.ExitCode);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("metrics.json")));
        Assert.Equal(0.6, json.RootElement.GetProperty("A").GetDouble());
        Assert.Equal(2.6, json.RootElement.GetProperty("B").GetDouble());
    }

    [Fact]
    public async Task A_score_matrix_of_another_shape_is_refused_with_one_line_naming_both_shapes()
    {
        // Given a 4 x 5 score matrix for a split of 4 points and 6 labels
        using var dir = new TempDirectory();
        var dataset = GoldenDataset(dir, filterPairs: []);
        var scores = dir.File("scores.npz");
        SparseNpz.Save(scores, Matrix(5, [[(0, .9f)], [(4, .5f)], [], []]));

        // When
        var run = await CliTestHost.RunAsync("eval", "--dataset", dataset, "--scores", scores);

        // Then exit code 2, one error line, and no metrics.json
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains(scores, line, StringComparison.Ordinal);
        Assert.Contains("4 x 5", line, StringComparison.Ordinal);
        Assert.Contains("4 x 6", line, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("metrics.json")));
    }

    [Fact]
    public async Task A_NaN_score_is_one_error_line_naming_the_scores_file_row_and_label_with_exit_code_2()
    {
        // Given the worked example's scores with a NaN at row 1, label 3
        using var dir = new TempDirectory();
        var dataset = GoldenDataset(dir, filterPairs: []);
        var scores = dir.File("scores.npz");
        SparseNpz.Save(scores, Matrix(6, [[(0, .9f)], [(1, .7f), (3, float.NaN)], [(3, .3f)], []]));

        // When
        var run = await CliTestHost.RunAsync("eval", "--dataset", dataset, "--scores", scores);

        // Then the library's data error reaches the user as bad input (not an internal error), naming the place
        Assert.Equal(SkimCli.InputError, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains(scores, line, StringComparison.Ordinal);
        Assert.Contains("row 1, label 3", line, StringComparison.Ordinal);
        Assert.Contains("NaN", line, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("metrics.json")));
    }

    [Fact]
    public async Task A_k_list_that_is_not_positive_integers_is_refused()
    {
        // Given the worked example
        using var dir = new TempDirectory();
        var dataset = GoldenDataset(dir, filterPairs: []);
        var scores = dir.File("scores.npz");
        SparseNpz.Save(scores, GoldenScores());

        // When
        var run = await CliTestHost.RunAsync("eval", "--dataset", dataset, "--scores", scores, "--k", "1,0");

        // Then
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--k", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    private static double P1(JsonDocument json) =>
        json.RootElement.GetProperty("metrics").GetProperty("P").GetProperty("1").GetDouble();

    // Test rows {0,2}, {1,5}, {3}, {}; train label frequencies (4, 2, 1, 1, 1, 1) over 5 rows.
    private static string GoldenDataset(TempDirectory dir, (int Point, int Label)[] filterPairs)
    {
        var root = dir.File("golden");
        Directory.CreateDirectory(Path.Combine(root, "raw"));
        File.WriteAllLines(Path.Combine(root, "raw", "trn_X.txt"), ["t0", "t1", "t2", "t3", "t4"]);
        File.WriteAllLines(Path.Combine(root, "raw", "tst_X.txt"), ["q0", "q1", "q2", "q3"]);
        File.WriteAllLines(Path.Combine(root, "raw", "Y.txt"), ["l0", "l1", "l2", "l3", "l4", "l5"]);
        SparseNpz.Save(Path.Combine(root, "Y.trn.npz"), Matrix(6, [[(0, 1), (1, 1)], [(0, 1), (1, 1), (2, 1)], [(0, 1), (3, 1)], [(0, 1), (4, 1)], [(5, 1)]]));
        SparseNpz.Save(Path.Combine(root, "Y.tst.npz"), Matrix(6, [[(0, 1), (2, 1)], [(1, 1), (5, 1)], [(3, 1)], []]));
        if (filterPairs.Length > 0)
        {
            File.WriteAllLines(Path.Combine(root, "filter_labels_test.txt"), filterPairs.Select(p => $"{p.Point} {p.Label}"));
        }
        return root;
    }

    private static CsrMatrix GoldenScores() => Matrix(
        6,
        [
            [(0, .9f), (1, .8f), (2, .1f)],
            [(0, .2f), (1, .7f), (3, .6f), (5, .5f)],
            [(3, .3f)],
            [(0, .5f), (4, .4f)],
        ]);

    private static CsrMatrix Matrix(int columns, (int Label, float Value)[][] rows)
    {
        var indPtr = new int[rows.Length + 1];
        for (var r = 0; r < rows.Length; r++)
        {
            indPtr[r + 1] = indPtr[r] + rows[r].Length;
        }
        return new CsrMatrix(rows.Length, columns, indPtr, [.. rows.SelectMany(r => r.Select(e => e.Label))], [.. rows.SelectMany(r => r.Select(e => e.Value))]);
    }
}
