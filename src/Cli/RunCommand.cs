using System.CommandLine;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim run STAGE</c>: one workflow stage from flags. Each stage's verb maps its flags onto the
/// stage's options record and runs it through the same code path as <c>skim pipeline run --only</c>.
/// </summary>
internal static class RunCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var command = new Command("run", "Run one stage of the SKIM workflow (skipped when its manifest says it is up to date).");
        // One line per stage verb, in workflow order.
        // (stage verbs are added here)
        command.Subcommands.Add(Step0Command.Create(console));
        command.Subcommands.Add(Step1Command.Create(console));
        command.Subcommands.Add(Step2Command.Create(console));
        return command;
    }
}
