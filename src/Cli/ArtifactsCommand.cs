using System.CommandLine;
using Skim.Pipelines.Artifacts;
using Spectre.Console;

namespace Skim.Cli;

/// <summary><c>skim artifacts list DIR</c>: which SKIM artifacts a folder holds and which stages they let a pipeline skip.</summary>
internal static class ArtifactsCommand
{
    /// <summary>Builds the <c>artifacts</c> command group.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var folder = new Argument<string>("dir") { Description = "An artifacts folder laid out like SKIM's (datasets/, llm-responses/, slm-generations/, ...).", DefaultValueFactory = _ => "artifacts" };
        var list = new Command("list", "List the SKIM artifacts present and the stages each lets a pipeline skip.") { folder };
        list.SetAction(parse =>
        {
            var entries = ArtifactInventory.Scan(parse.GetValue(folder)!);
            var table = new Table().AddColumns("artifact", "dataset", "files", "lets skip", "source");
            foreach (var e in entries)
            {
                table.AddRow(
                    Markup.Escape(e.Kind),
                    Markup.Escape(e.Dataset),
                    Markup.Escape(string.Join(", ", e.Files.Take(4)) + (e.Files.Count > 4 ? $" (+{e.Files.Count - 4})" : "")),
                    Markup.Escape(e.Skips),
                    e.MadeBySkim ? "skim" : "provided");
            }
            console.Write(table);
            console.MarkupLineInterpolated($"{entries.Count} artifacts in {parse.GetValue(folder)}");
            return 0;
        });
        var command = new Command("artifacts", "Inspect provided and produced SKIM artifacts.");
        command.Subcommands.Add(list);
        return command;
    }
}
