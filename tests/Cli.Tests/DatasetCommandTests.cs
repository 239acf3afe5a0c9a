using System.Text.Json;
using Skim.Core.Datasets;
using Skim.Core.Formats.Corpus;
using Skim.Core.Formats.XcText;
using Skim.Core.Sparse;

namespace Skim.Cli.Tests;

public class DatasetCommandTests
{
    private static IEnumerable<XcCorpusRecord> Records(params string[] texts) => texts.Select(t => XcCorpusRecord.FromText(t, t));

    // 4 train points (one without labels), 2 test points, 3 labels.
    private static void WriteXcDataset(string dir)
    {
        var train = new CsrMatrix(4, 3, [0, 2, 3, 3, 5], [0, 1, 0, 1, 2], [1, 1, 1, 1, 1]);
        var test = new CsrMatrix(2, 3, [0, 1, 2], [2, 0], [1, 1]);
        XcCorpus.Write(Path.Combine(dir, XcDatasetFiles.XcTrainCorpus), Records("a", "b", "c", "d"));
        XcCorpus.Write(Path.Combine(dir, XcDatasetFiles.XcTestCorpus), Records("e", "f"));
        XcCorpus.Write(Path.Combine(dir, XcDatasetFiles.XcLabelCorpus), Records("x", "y", "z"));
        XcSparseText.Write(Path.Combine(dir, XcDatasetFiles.XcTrainLabels), train);
        XcSparseText.Write(Path.Combine(dir, XcDatasetFiles.XcTestLabels), test);
        File.WriteAllText(Path.Combine(dir, XcDatasetFiles.TestFilter), "1 2\n");
    }

    [Fact]
    public async Task Inspect_prints_the_counts_and_deciles_and_exits_0()
    {
        // Given an XC dataset
        using var dir = new TempDirectory();
        WriteXcDataset(dir.Path);

        // When it is inspected
        var run = await CliTestHost.RunAsync("dataset", "inspect", dir.Path);

        // Then the tables hold its numbers
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Error);
        Assert.Contains("XC layout, 3 labels", run.Output, StringComparison.Ordinal);
        Assert.Matches(@"│\s*trn\s*│\s*tst\s*│", run.Output);
        Assert.Matches(@"points\s*│\s*4\s*│\s*2\s*│", run.Output);
        Assert.Matches(@"non-zeros\s*│\s*5\s*│\s*2\s*│", run.Output);
        Assert.Matches(@"labels per point \(avg, min-max\)\s*│\s*1\.25 \(0-2\)\s*│\s*1\.00 \(1-1\)\s*│", run.Output);
        Assert.Matches(@"empty rows\s*│\s*1\s*│\s*0\s*│", run.Output);
        Assert.Matches(@"filter pairs\s*│\s*0\s*│\s*1\s*│", run.Output);
        Assert.Contains("label-frequency deciles", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_json_is_machine_readable()
    {
        // Given an XC dataset
        using var dir = new TempDirectory();
        WriteXcDataset(dir.Path);

        // When it is inspected with --json
        var run = await CliTestHost.RunAsync("dataset", "inspect", dir.Path, "--json");

        // Then the output parses as JSON with the counts
        Assert.Equal(0, run.ExitCode);
        using var json = JsonDocument.Parse(run.Output);
        var root = json.RootElement;
        Assert.Equal("xc", root.GetProperty("layout").GetString());
        Assert.Equal(3, root.GetProperty("num_labels").GetInt32());
        Assert.Equal(5, root.GetProperty("train").GetProperty("non_zeros").GetInt64());
        Assert.Equal(1, root.GetProperty("train").GetProperty("empty_rows").GetInt32());
        Assert.Equal(1, root.GetProperty("test").GetProperty("filter_pairs").GetInt32());
        Assert.Equal(10, root.GetProperty("deciles").GetArrayLength());
    }

    [Fact]
    public async Task A_broken_dataset_exits_2_with_one_line_and_no_stack_trace()
    {
        // Given an XC dataset whose train corpus lost a record
        using var dir = new TempDirectory();
        WriteXcDataset(dir.Path);
        XcCorpus.Write(Path.Combine(dir.Path, XcDatasetFiles.XcTrainCorpus), Records("a", "b", "c"));

        // When it is inspected
        var run = await CliTestHost.RunAsync("dataset", "inspect", dir.Path);

        // Then the exit code is 2 and the error is one line naming both files
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("trn.json.gz has 3 records but trn_X_Y.txt has 4 rows", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
        Assert.Equal("", run.Output);
    }

    [Fact]
    public async Task Convert_writes_the_other_layout_which_inspect_then_reads()
    {
        // Given an XC dataset
        using var dir = new TempDirectory();
        var source = Path.Combine(dir.Path, "xc");
        Directory.CreateDirectory(source);
        WriteXcDataset(source);
        var target = Path.Combine(dir.Path, "dexml");

        // When it is converted to DEXML
        var run = await CliTestHost.RunAsync("dataset", "convert", source, "--to", "dexml", "--out", target);

        // Then the DEXML files exist and describe the same dataset
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Y.trn.npz", run.Output, StringComparison.Ordinal);
        var converted = XcDataset.Open(target);
        Assert.Equal(XcDatasetLayout.Dexml, converted.Layout);
        Assert.Equal(5, converted.TrainLabels.NonZeros);
        Assert.Equal(["a", "b", "c", "d"], converted.TrainTexts);
        var inspect = await CliTestHost.RunAsync("dataset", "inspect", target);
        Assert.Equal(0, inspect.ExitCode);
        Assert.Contains("DEXML layout, 3 labels", inspect.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Convert_accepts_the_output_folder_as_an_argument()
    {
        // Given an XC dataset
        using var dir = new TempDirectory();
        var source = Path.Combine(dir.Path, "xc");
        Directory.CreateDirectory(source);
        WriteXcDataset(source);

        // When the output is given positionally
        var run = await CliTestHost.RunAsync("dataset", "convert", source, Path.Combine(dir.Path, "copy"), "--to", "xc");

        // Then the copy is written
        Assert.Equal(0, run.ExitCode);
        Assert.True(File.Exists(Path.Combine(dir.Path, "copy", "trn_X_Y.txt")));
    }

    [Fact]
    public async Task Convert_without_an_output_folder_is_an_input_error()
    {
        // Given an XC dataset
        using var dir = new TempDirectory();
        WriteXcDataset(dir.Path);

        // When convert is called without --out
        var run = await CliTestHost.RunAsync("dataset", "convert", dir.Path, "--to", "dexml");

        // Then it exits 2 saying what is missing
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--out", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulate_missing_writes_a_dataset_with_the_full_matrix_beside_the_thinned_one()
    {
        // Given the demo dataset
        using var dir = new TempDirectory();
        var demo = Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo");
        var target = Path.Combine(dir.Path, "missing");

        // When its train matrix loses pairs by the demo's own rule
        var run = await CliTestHost.RunAsync("dataset", "simulate-missing", demo, "--rate", "0.2", "--tail-bias", "0.5", "--seed", "3", "--out", target);

        // Then the new dataset opens, keeps the input's train matrix as the full one and lost about
        // a third of the pairs, as the demo did (2,471 of 7,390 from its own full matrix)
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Matches(@"train pairs \(full\)\s*│\s*4,919", run.Output);
        var simulated = XcDataset.Open(target);
        var input = XcDataset.Open(demo);
        Assert.True(simulated.FullTrainLabels!.ContentEquals(input.TrainLabels));
        Assert.True(simulated.TestLabels.ContentEquals(input.TestLabels));
        var dropped = 1 - ((double)simulated.TrainLabels.NonZeros / input.TrainLabels.NonZeros);
        Assert.InRange(dropped, 0.28, 0.40);
        Assert.Equal(input.TestFilter.Count, simulated.TestFilter.Count);
    }

    [Fact]
    public async Task Simulate_missing_with_a_rate_above_one_exits_2_naming_the_option()
    {
        using var dir = new TempDirectory();
        WriteXcDataset(dir.Path);

        var run = await CliTestHost.RunAsync("dataset", "simulate-missing", dir.Path, "--rate", "0.9", "--out", Path.Combine(dir.Path, "out"));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--tail-bias", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "out")));
    }
}
