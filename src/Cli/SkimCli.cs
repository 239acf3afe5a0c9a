using System.CommandLine;
using Skim.Core;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>Builds the <c>skim</c> command tree and maps errors to exit codes.</summary>
public static class SkimCli
{
    /// <summary>Exit code for errors in the user's input (bad file, bad option).</summary>
    public const int InputError = 2;

    /// <summary>Exit code for unexpected failures (a bug, or the machine).</summary>
    public const int InternalError = 70;

    /// <summary>Exit code when the user cancelled (Ctrl+C).</summary>
    public const int Cancelled = 130;

    /// <summary>Gets the global <c>--verbose</c> option: stack traces and debug output.</summary>
    public static Option<bool> VerboseOption { get; } = new("--verbose", "-v")
    {
        Description = "Print stack traces and debug detail on errors.",
        Recursive = true,
    };

    /// <summary>Builds the root command with every verb.</summary>
    public static RootCommand BuildRootCommand(IAnsiConsole console)
    {
        var root = new RootCommand("Skim: the SKIM missing-label workflow and XC training/evaluation.");
        root.Options.Add(VerboseOption);
        foreach (var command in Commands(console))
        {
            root.Subcommands.Add(command);
        }
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>, writing results to <paramref name="console"/> and
    /// errors to <paramref name="errors"/>. By default results go to standard output and errors to
    /// standard error; a test passes one console for both.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, IAnsiConsole? console = null, IAnsiConsole? errors = null)
    {
        errors ??= console ?? CreateErrorConsole();
        if (console is null)
        {
            console = AnsiConsole.Console;
            // Spectre decides interactivity from the input side only; output going to a file or a pipe
            // (logs, CI, a parent process) gets plain lines, not redrawn progress bars.
            if (Console.IsOutputRedirected)
            {
                console.Profile.Capabilities.Interactive = false;
            }
        }
        var root = BuildRootCommand(console);
        var parse = root.Parse(args);
        var verbose = parse.GetValue(VerboseOption);
        if (parse.Errors.Count > 0)
        {
            // Usage errors (unknown option, bad value) are bad input like any other: one line each, exit 2.
            var command = string.Join(' ', parse.CommandResult.Command.Name == root.Name ? ["skim"] : ["skim", .. CommandPath(parse.CommandResult)]);
            foreach (var error in parse.Errors)
            {
                var message = string.Join(' ', error.Message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
                errors.MarkupLineInterpolated($"[red]error:[/] {message} (see '{command} --help')");
            }
            return InputError;
        }
        try
        {
            var configuration = new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                Output = console.Profile.Out.Writer,
                Error = errors.Profile.Out.Writer,
            };
            return await parse.InvokeAsync(configuration).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            errors.MarkupLine("[yellow]cancelled[/]");
            return Cancelled;
        }
        catch (Exception e) when (e is SkimException || e is IOException || e is UnauthorizedAccessException)
        {
            ReportError(errors, e, verbose);
            return InputError;
        }
        catch (Exception e)
        {
            ReportError(errors, e, verbose);
            return InternalError;
        }
    }

    private static Stack<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new Stack<string>();
        for (var current = result; current?.Parent is not null; current = current.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Push(current.Command.Name);
        }
        return names;
    }

    private static IAnsiConsole CreateErrorConsole()
    {
        var errors = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        // An error is one line, whatever the terminal width, so that scripts can grep it.
        errors.Profile.Width = int.MaxValue / 2;
        return errors;
    }

    private static void ReportError(IAnsiConsole console, Exception e, bool verbose)
    {
        var message = e is SkimException ? e.Message : $"{e.GetType().Name}: {e.Message}";
        console.MarkupLineInterpolated($"[red]error:[/] {message}");
        if (verbose)
        {
            console.WriteLine(e.ToString());
        }
    }

    // Each verb lives in its own XxxCommand.Create(console) factory; this list is the CLI surface.
    private static IEnumerable<Command> Commands(IAnsiConsole console)
    {
        // One line per verb; keep the order of `skim --help`.
        yield return ArtifactsCommand.Create(console);
        yield return ClassifierCommand.Create(console);
        yield return CompareCommand.Create(console);
        yield return DatasetCommand.Create(console);
        yield return EmbedCommand.Create(console);
        yield return EvalCommand.Create(console);
        yield return GenerateCommand.Create(console);
        yield return MergeCommand.Create(console);
        yield return ModelCommand.Create(console);
        yield return PipelineCommand.Create(console);
        yield return PredictCommand.Create(console);
        yield return RunCommand.Create(console);
        yield return TokenizeCommand.Create(console);
        yield return TrainCommand.Create(console);
    }
}
