using System.Text.Json;

namespace Skim.Cli.Tests;

public sealed class Step0CommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Demo => Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo");

    private static string Template => Path.Combine(PythonReference.RepositoryRoot, "prompts", "query-generation.txt");

    [Fact]
    public async Task Local_extractive_step_0_on_the_demo_dataset_writes_SFT_data_and_prints_a_summary_table()
    {
        // Given the demo dataset
        var output = _dir.File("llm-responses");

        // When step-0 runs with the local-extractive teacher on 50 items, then again
        var run = await CliTestHost.RunAsync("run", "step-0", "--dataset", Demo, "--template", Template, "--teacher", "local-extractive", "--items", "50", "--field", "url=url", "--out", output);
        var again = await CliTestHost.RunAsync("run", "step-0", "--dataset", Demo, "--template", Template, "--teacher", "local-extractive", "--items", "50", "--field", "url=url", "--out", output);

        // Then the SFT data is there, the table says what happened, and the second run is skipped
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Matches(@"items sampled\s+│\s+50", run.Output);
        Assert.Matches(@"requests sent\s+│\s+50", run.Output);
        using var train = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "sft", "train.json")));
        Assert.True(train.RootElement.GetArrayLength() >= 40);
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Contains("up to date", again.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zero_items_is_one_error_line_with_exit_code_2_and_nothing_written()
    {
        var output = _dir.File("out");

        var run = await CliTestHost.RunAsync("run", "step-0", "--dataset", Demo, "--template", Template, "--teacher", "local-extractive", "--items", "0", "--out", output);

        Assert.Equal(SkimCli.InputError, run.ExitCode);
        Assert.Contains("items", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task A_malformed_field_mapping_is_one_error_line()
    {
        var run = await CliTestHost.RunAsync("run", "step-0", "--dataset", Demo, "--template", Template, "--teacher", "local-extractive", "--field", "url", "--out", _dir.File("out"));

        Assert.Equal(SkimCli.InputError, run.ExitCode);
        Assert.Contains("PLACEHOLDER=FIELD", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }
}
