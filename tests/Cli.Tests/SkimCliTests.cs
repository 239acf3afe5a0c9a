namespace Skim.Cli.Tests;

public sealed class SkimCliTests
{
    [Fact]
    public async Task An_unknown_verb_gives_only_error_lines_and_exit_code_2()
    {
        // Given a verb that does not exist
        // When it is run
        var run = await CliTestHost.RunAsync("frobnicate");

        // Then the usage error is reported on standard error, without help text or stack trace
        Assert.Equal(SkimCli.InputError, run.ExitCode);
        Assert.NotEmpty(run.ErrorLines);
        Assert.All(run.ErrorLines, line => Assert.StartsWith("error: ", line, StringComparison.Ordinal));
        Assert.Contains(run.ErrorLines, line => line.Contains("'frobnicate'", StringComparison.Ordinal));
        Assert.Empty(run.Output);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_choice_for_an_option_names_the_choices_on_one_line_and_the_help_to_read()
    {
        // Given a dataset command with a layout that does not exist
        // When it is run
        var run = await CliTestHost.RunAsync("dataset", "convert", "somewhere", "--to", "parquet", "--out", "elsewhere");

        // Then one line says what was wrong and where the help is
        Assert.Equal(SkimCli.InputError, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("parquet", line, StringComparison.Ordinal);
        Assert.Contains("dexml", line, StringComparison.Ordinal);
        Assert.EndsWith("(see 'skim dataset convert --help')", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_verb_on_standard_output()
    {
        // Given the root command
        // When help is asked for
        var run = await CliTestHost.RunAsync("--help");

        // Then it succeeds and names the verbs users type
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("dataset", run.Output, StringComparison.Ordinal);
        Assert.Contains("eval", run.Output, StringComparison.Ordinal);
        Assert.Empty(run.Error);
    }
}
