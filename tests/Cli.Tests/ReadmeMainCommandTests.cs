using System.Globalization;
using System.Text.RegularExpressions;

namespace Skim.Cli.Tests;

/// <summary>
/// The README's first command is the main job a new user runs; these tests run exactly that command
/// (read from the README, so they follow it when it changes) through the real command tree, and
/// check what it prints against the counts the demo dataset's README states.
/// </summary>
public sealed partial class ReadmeMainCommandTests
{
    private const string RunPrefix = "dotnet run --project src/Cli -- ";

    [Fact]
    public void The_readme_starts_with_the_demo_command_and_the_test_command()
    {
        // Given the README's first code block
        var commands = FirstCodeBlock();

        // Then it holds two commands: the main job through the CLI project, then the test script CI runs
        Assert.Equal(2, commands.Count);
        Assert.StartsWith(RunPrefix, commands[0], StringComparison.Ordinal);
        Assert.Equal("bash build/test.sh", commands[1]);
        Assert.Contains("bash build/test.sh", File.ReadAllText(Path.Combine(PythonReference.RepositoryRoot, ".ci", "run")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_readme_main_command_plans_the_whole_workflow_on_the_demo()
    {
        // Given the README's first command (the EndToEnd tests run it; here it only plans)
        var args = MainCommandArguments();
        Assert.Equal(["pipeline", "run"], args[..2]);

        // When it runs with --dry-run through the real command tree
        // (the pipeline's paths are relative to the repository root, where users run it; tests run elsewhere)
        var root = PythonReference.RepositoryRoot;
        var run = await CliTestHost.RunAsync([.. args, "--dry-run",
            "--set", $"work={Path.Combine(Path.GetTempPath(), "skim-readme-" + Guid.NewGuid().ToString("N"))}",
            "--set", $"dataset={Path.Combine(root, "artifacts", "datasets", "demo")}",
            "--set", $"template={Path.Combine(root, "prompts", "demo-query-generation.txt")}"]);

        // Then it succeeds and plans every stage of the workflow
        Assert.True(run.ExitCode == 0, run.Error);
        foreach (var stage in new[] { "slm-base", "mapping-encoder", "step-0", "finetune", "step-1", "step-2", "baseline", "skim", "compare" })
        {
            Assert.Contains(stage, run.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Inspecting_the_demo_dataset_prints_its_documented_counts()
    {
        // Given the counts table of the demo dataset's README
        var counts = DemoCounts();

        // When the dataset is inspected through the real command tree
        var run = await CliTestHost.RunAsync(["dataset", "inspect", Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo")]);

        // Then it succeeds and its summary shows the documented sizes of each matrix
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Matches(Row("points", counts["train points"], counts["test points"], counts["train points"]), run.Output);
        Assert.Matches(Row("labels", counts["labels"], counts["labels"], counts["labels"]), run.Output);
        Assert.Matches(Row("non-zeros", counts["train non-zeros (observed)"], counts["test non-zeros"], counts["train non-zeros (full)"]), run.Output);
        Assert.Matches(@"│ empty rows\s*│\s*" + Regex.Escape(N(counts["train points left without labels"])) + @"\s*│", run.Output);
        Assert.Matches(@"│ labels without points\s*│[^│]*│[^│]*│\s*" + Regex.Escape(N(counts["labels without train points"])) + @"\s*│", run.Output);
        Assert.Equal(counts["points"], counts["train points"] + counts["test points"]);
        Assert.Equal(counts["dropped train pairs"], counts["train non-zeros (full)"] - counts["train non-zeros (observed)"]);
    }

    // The arguments of the README's first command, with repository paths made absolute (tests run elsewhere).
    private static string[] MainCommandArguments()
    {
        var command = FirstCodeBlock()[0];
        Assert.StartsWith(RunPrefix, command, StringComparison.Ordinal);
        return [.. command[RunPrefix.Length..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(arg => Path.Exists(Path.Combine(PythonReference.RepositoryRoot, arg)) ? Path.Combine(PythonReference.RepositoryRoot, arg) : arg)];
    }

    private static List<string> FirstCodeBlock()
    {
        var lines = File.ReadAllLines(Path.Combine(PythonReference.RepositoryRoot, "README.md"));
        var open = Array.FindIndex(lines, l => l.StartsWith("```", StringComparison.Ordinal));
        Assert.True(open >= 0, "README.md has no code block");
        return [.. lines.Skip(open + 1).TakeWhile(l => !l.StartsWith("```", StringComparison.Ordinal)).Where(l => l.Trim().Length > 0).Select(l => l.Trim())];
    }

    // "| quantity | value |" rows of artifacts/datasets/demo/README.md whose value is a number.
    private static Dictionary<string, int> DemoCounts()
    {
        var readme = File.ReadAllText(Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo", "README.md"));
        var counts = CountRow().Matches(readme).ToDictionary(m => m.Groups[1].Value.Trim(), m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.True(counts.Count >= 10, $"expected the demo README's counts table, found {counts.Count} numeric rows");
        return counts;
    }

    private static string Row(string name, int train, int test, int full) =>
        $@"│ {Regex.Escape(name)}\s*│\s*{Regex.Escape(N(train))}\s*│\s*{Regex.Escape(N(test))}\s*│\s*{Regex.Escape(N(full))}\s*│";

    private static string N(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\| ([a-z][^|]*?) \| (\d+) \|$", RegexOptions.Multiline)]
    private static partial Regex CountRow();
}
