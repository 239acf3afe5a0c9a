using System.CommandLine;
using Skim.Core.Stages;
using Skim.Generate.Step1;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim merge step-1 DIR</c>: joins the shards of a step-1 job run with <c>--shard K/N</c> into the
/// job's outputs, after checking that every item was generated exactly once.
/// </summary>
internal static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var command = new Command("merge", "Join the shards of a sharded stage run into its outputs.");
        var directory = new Argument<string>("DIR") { Description = "The step-1 output folder holding shards/K-of-N/ from skim run step-1 --shard K/N." };
        var step1 = new Command("step-1", "Join step-1 shards into raw_rewrites.txt, start_indices.npy and generations.parquet, checking every item is covered exactly once.") { directory };
        step1.SetAction(async (parse, ct) =>
        {
            var folder = parse.GetValue(directory)!;
            var summary = await ProgressDisplay.RunAsync<StageProgress, System.Text.Json.Nodes.JsonObject>(
                console,
                "merge",
                "files",
                p => (p.Done, p.Total),
                progress => Step1Merge.RunAsync(folder, progress, ct),
                _ => 1).ConfigureAwait(false);
            console.WriteLine($"step-1 merged {summary["shards"]} shards: {folder}");
            Step1Command.RenderSummary(console, summary);
            return 0;
        });
        command.Subcommands.Add(step1);
        return command;
    }
}
