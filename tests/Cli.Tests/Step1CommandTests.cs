using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Models.ModelFactory;

namespace Skim.Cli.Tests;

[Collection(CliLibTorchCollection.Name)]
public sealed class Step1CommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _dataset = Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo");
    private readonly string _template = Path.Combine(PythonReference.RepositoryRoot, "prompts", "query-generation.txt");
    private readonly string _model;

    public Step1CommandTests()
    {
        var corpus = _dir.File("corpus.txt");
        File.WriteAllLines(corpus, XcDataset.Open(_dataset).RecordsFor(XcDataset.LabelSplit).Take(200).Select(r => r.Text.ReplaceLineEndings(" ")));
        _model = _dir.File("model");
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = "llama",
            Preset = "tiny",
            Tokenizer = ModelInitOptions.TrainPrefix + corpus,
            OutputDirectory = _model,
            VocabSize = 300,
            Seed = 4,
        });
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Step_1_on_a_demo_slice_writes_skims_files_and_a_summary_and_the_same_command_again_is_skipped()
    {
        // Given the first six labels of the demo dataset
        var output = _dir.File("gen");

        // When step-1 runs twice with the same flags
        var first = await CliTestHost.RunAsync(Args(output));
        var second = await CliTestHost.RunAsync(Args(output));

        // Then the first writes 7 offsets matching raw_rewrites.txt and a summary table, and the second is skipped
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Contains("step-1 finished", first.Output, StringComparison.Ordinal);
        Assert.Matches(@"│ items\s+│\s+6 │", first.Output);
        Assert.Contains("queries per item (min / median / max)", first.Output, StringComparison.Ordinal);
        var starts = NpyFile.Read(Path.Combine(output, "start_indices.npy")).As<long>();
        Assert.Equal(7, starts.Length);
        Assert.Equal(File.ReadAllLines(Path.Combine(output, "raw_rewrites.txt")).Length, starts[^1]);
        Assert.True(File.Exists(Path.Combine(output, "generations.parquet")));
        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Contains("step-1 skipped (up to date)", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_holding_a_run_of_other_options_is_refused_unless_forced()
    {
        // Given a finished run with seed 0
        var output = _dir.File("gen");
        Assert.Equal(0, (await CliTestHost.RunAsync(Args(output))).ExitCode);

        // When the same folder is asked for seed 5, without and then with --force
        var refused = await CliTestHost.RunAsync([.. Args(output), "--seed", "5"]);
        var forced = await CliTestHost.RunAsync([.. Args(output), "--seed", "5", "--force"]);

        // Then the first is one error line naming the folder and the reason, and the forced one runs
        Assert.Equal(SkimCli.InputError, refused.ExitCode);
        var line = Assert.Single(refused.ErrorLines);
        Assert.Contains("holds another step-1 run (options changed); pass --force", line, StringComparison.Ordinal);
        Assert.True(forced.ExitCode == 0, forced.Error);
        Assert.Contains("step-1 finished", forced.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_shard_beyond_its_count_and_a_missing_template_field_are_one_error_line_each()
    {
        // Given a template with a placeholder no item field has
        var template = _dir.File("template.txt");
        File.WriteAllText(template, "{page}\n### Task Output\n");

        // When step-1 is asked for shard 4/3, and for that template
        var shard = await CliTestHost.RunAsync([.. Args(_dir.File("a")), "--shard", "4/3"]);
        var field = await CliTestHost.RunAsync([.. Args(_dir.File("b")).Select(a => a == _template ? template : a)]);

        // Then each exits with 2 and one line saying what is wrong
        Assert.Equal(SkimCli.InputError, shard.ExitCode);
        Assert.Contains("shard '4/3'", Assert.Single(shard.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(SkimCli.InputError, field.ExitCode);
        Assert.Contains("placeholder '{page}'", Assert.Single(field.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Merge_names_a_missing_shard_and_joins_both_once_they_are_there()
    {
        // Given shard 0/2 of a job
        var output = _dir.File("gen");
        var first = await CliTestHost.RunAsync([.. Args(output), "--shard", "0/2"]);
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Contains("skim merge step-1", first.Output, StringComparison.Ordinal);

        // When it is merged alone, then with shard 1/2
        var early = await CliTestHost.RunAsync("merge", "step-1", output);
        Assert.Equal(0, (await CliTestHost.RunAsync([.. Args(output), "--shard", "1/2"])).ExitCode);
        var merged = await CliTestHost.RunAsync("merge", "step-1", output);

        // Then the early merge names items 3..5 and shard 1/2, and the full merge writes the job's 7 offsets
        Assert.Equal(SkimCli.InputError, early.ExitCode);
        var line = Assert.Single(early.ErrorLines);
        Assert.Contains("items 3..5 missing", line, StringComparison.Ordinal);
        Assert.Contains("1/2 not found", line, StringComparison.Ordinal);
        Assert.True(merged.ExitCode == 0, merged.Error);
        Assert.Contains("step-1 merged 2 shards", merged.Output, StringComparison.Ordinal);
        Assert.Equal(7, NpyFile.Read(Path.Combine(output, "start_indices.npy")).As<long>().Length);
    }

    private string[] Args(string output) =>
    [
        "run", "step-1", "--dataset", _dataset, "--model", _model, "--template", _template, "--backend", "torch", "--device", "cpu",
        "--end", "6", "--max-new-tokens", "6", "--max-prompt-tokens", "16", "--max-known-queries", "2", "--batch-size", "4", "--out", output,
    ];
}
