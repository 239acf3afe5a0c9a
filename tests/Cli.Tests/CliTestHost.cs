using Spectre.Console.Testing;

namespace Skim.Cli.Tests;

/// <summary>What one <c>skim</c> invocation produced.</summary>
/// <param name="ExitCode">The process exit code the CLI returned.</param>
/// <param name="Output">Everything written to standard output.</param>
/// <param name="Error">Everything written to standard error.</param>
public sealed record CliRun(int ExitCode, string Output, string Error)
{
    /// <summary>Gets the non-empty lines of <see cref="Error"/>.</summary>
    public IReadOnlyList<string> ErrorLines =>
        Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>
/// Runs <c>skim</c> in-process through <see cref="SkimCli.InvokeAsync"/> with Spectre's test consoles
/// instead of the terminal, capturing standard output, standard error and the exit code.
/// </summary>
public static class CliTestHost
{
    /// <summary>Width of the captured standard output; wide enough that tables do not wrap.</summary>
    public const int OutputWidth = 240;

    /// <summary>Runs <c>skim</c> with <paramref name="args"/>.</summary>
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new TestConsole();
        output.Profile.Width = OutputWidth;
        using var error = new TestConsole();
        // Errors are one line whatever their length, as on a real terminal (see SkimCli).
        error.Profile.Width = 100_000;
        var exitCode = await SkimCli.InvokeAsync(args, output, error);
        return new CliRun(exitCode, output.Output, error.Output);
    }
}
