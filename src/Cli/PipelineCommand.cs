using System.CommandLine;
using System.Globalization;
using Skim.Core.Stages;
using Skim.Pipelines.Definition;
using Skim.Pipelines.Running;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim pipeline run FILE.yaml</c>: the workflow a YAML file describes, each stage run, resumed or
/// skipped by its manifest; <c>--dry-run</c> prints the plan and why.
/// </summary>
internal static class PipelineCommand
{
    /// <summary>Builds the <c>pipeline</c> command group.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var command = new Command("pipeline", "Run a workflow described by a YAML file (pipelines/*.yaml).");
        command.Subcommands.Add(CreateRun(console));
        command.Subcommands.Add(ClusterPlanCommand.Create(console));
        command.Subcommands.Add(CreateTemplate(console));
        return command;
    }

    private static Command CreateTemplate(IAnsiConsole console)
    {
        var output = new Option<string?>("--out", "-o") { Description = "Write the template to this file instead of the screen." };
        var command = new Command("template", "Print a commented pipeline file with every stage kind, key, default and meaning.") { output };
        command.SetAction(parse =>
        {
            var text = PipelineTemplate.Render();
            if (parse.GetValue(output) is { } path)
            {
                Skim.Core.IO.AtomicFile.WriteAllText(path, text);
                console.MarkupLineInterpolated($"template written to {path}");
            }
            else
            {
                console.Profile.Out.Writer.Write(text);
            }
            return 0;
        });
        return command;
    }

    private static Command CreateRun(IAnsiConsole console)
    {
        var file = new Argument<string>("file") { Description = "The pipeline YAML file." };
        var from = new Option<string?>("--from") { Description = "Start at this stage (earlier stages are left as they are)." };
        var to = new Option<string?>("--to") { Description = "Stop after this stage." };
        var only = new Option<string[]>("--only") { Description = "Run only these stages.", AllowMultipleArgumentsPerToken = true };
        var force = new Option<string[]>("--force") { Description = "Run these stages again even when up to date ('all' for every stage).", AllowMultipleArgumentsPerToken = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan (run, skip, resume, re-run, and why) and stop." };
        var set = new Option<string[]>("--set") { Description = "Override a variable (name=value) or a stage option (stage.key=value)." };
        var command = new Command("run", "Run, resume or skip each stage of a pipeline.") { file, from, to, only, force, dryRun, set };
        command.SetAction(async (parse, ct) =>
        {
            var pipeline = PipelineFile.Load(parse.GetValue(file)!, parse.GetValue(set) ?? []);
            var selection = new PipelineSelection
            {
                From = parse.GetValue(from),
                To = parse.GetValue(to),
                Only = parse.GetValue(only) ?? [],
                Force = parse.GetValue(force) ?? [],
            };
            if (parse.GetValue(dryRun))
            {
                RenderPlan(console, pipeline.Name, PipelinePlanner.Plan(pipeline, selection, dryRun: true));
                return 0;
            }
            var result = await RunWithProgressAsync(console, pipeline, selection, ct).ConfigureAwait(false);
            RenderResult(console, result);
            return 0;
        });
        return command;
    }

    private static async Task<PipelineRunResult> RunWithProgressAsync(IAnsiConsole console, PipelineDefinition pipeline, PipelineSelection selection, CancellationToken ct)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            // Logs get one line as each stage starts, rather than redrawn bars.
            string? current = null;
            var lines = new Progress<PipelineProgress>(p =>
            {
                if (p.Stage != current)
                {
                    current = p.Stage;
                    console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[[{p.Index}/{p.Count}]] {p.Stage}: {p.Inner.Phase}");
                }
            });
            return await PipelineRunner.RunAsync(pipeline, selection, lines, ct).ConfigureAwait(false);
        }
        PipelineRunResult result = null!;
        await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new Progress<PipelineProgress>(p =>
                {
                    if (!tasks.TryGetValue(p.Stage, out var task))
                    {
                        foreach (var previous in tasks.Values)
                        {
                            previous.Value = previous.MaxValue;
                        }
                        tasks[p.Stage] = task = context.AddTask(p.Stage, autoStart: true, maxValue: 1);
                    }
                    task.MaxValue = Math.Max(1, p.Inner.Total);
                    task.Value = p.Inner.Done;
                    var detail = p.Inner.Detail is null ? "" : $", {p.Inner.Detail}";
                    task.Description = string.Create(CultureInfo.InvariantCulture, $"[[{p.Index}/{p.Count}]] {p.Stage}: {p.Inner.Phase} {p.Inner.Done:N0}/{p.Inner.Total:N0} {p.Inner.Unit}{detail}").EscapeMarkup();
                });
                result = await PipelineRunner.RunAsync(pipeline, selection, progress, ct).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return result;
    }

    private static void RenderPlan(IAnsiConsole console, string name, IReadOnlyList<PlannedStage> plan)
    {
        var table = new Table { Title = new TableTitle($"pipeline {name}: plan") }.AddColumns("stage", "kind", "action", "why", "after", "output");
        foreach (var p in plan)
        {
            var action = !p.Selected ? "-" : p.Stage.Provided ? "provided" : p.Decision.Reason.StartsWith("not ready", StringComparison.Ordinal) ? "[yellow]not ready[/]" : p.Decision.Action switch
            {
                StageAction.Run => "run",
                StageAction.Skip => "skip",
                StageAction.Resume => "resume",
                _ => "re-run",
            };
            table.AddRow(
                Markup.Escape(p.Stage.Name),
                Markup.Escape(p.Stage.Kind),
                action,
                Markup.Escape(p.Decision.Reason),
                Markup.Escape(string.Join(", ", p.DependsOn)),
                Markup.Escape(PipelinePlanner.Relative(p.Stage.OutputDirectory)));
        }
        console.Write(table);
    }

    private static void RenderResult(IAnsiConsole console, PipelineRunResult result)
    {
        var table = new Table { Title = new TableTitle($"pipeline {result.Pipeline.Name}") }.AddColumns("stage", "kind", "status", "seconds", "key numbers");
        foreach (var stage in result.Stages)
        {
            table.AddRow(
                Markup.Escape(stage.Name),
                Markup.Escape(stage.Kind),
                Markup.Escape(stage.Status),
                stage.Seconds.ToString("F1", CultureInfo.InvariantCulture),
                Markup.Escape(PipelineReport.KeyNumbersOf(stage.Summary)));
        }
        console.Write(table);
        foreach (var stage in result.Stages.Where(s => s.Kind == "compare"))
        {
            CompareSummary.Render(console, stage);
        }
        console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{result.Stages.Count(s => s.Status is "ran" or "re-ran" or "resumed")} stages ran, {result.Stages.Count(s => s.Status == "skipped")} up to date, in {result.Seconds:F0} s");
        if (result.ReportPath is not null)
        {
            console.MarkupLineInterpolated($"report: {PipelinePlanner.Relative(result.ReportPath)}");
        }
    }
}
