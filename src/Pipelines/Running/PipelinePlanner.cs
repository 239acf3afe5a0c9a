using Skim.Core;
using Skim.Core.Stages;
using Skim.Pipelines.Definition;

namespace Skim.Pipelines.Running;

/// <summary>Which stages a run selects: all, a range, or a few by name; and which it forces.</summary>
public sealed record PipelineSelection
{
    /// <summary>Gets the first stage to consider (earlier ones are left as they are). Defaults to null.</summary>
    public string? From { get; init; }

    /// <summary>Gets the last stage to consider. Defaults to null.</summary>
    public string? To { get; init; }

    /// <summary>Gets the stages to consider, when only some are wanted. Defaults to none (all).</summary>
    public IReadOnlyList<string> Only { get; init; } = [];

    /// <summary>Gets the stages to run again even when up to date; "all" forces every selected stage. Defaults to none.</summary>
    public IReadOnlyList<string> Force { get; init; } = [];
}

/// <summary>A stage with what a run would do with it.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="DependsOn">The stages whose outputs it reads.</param>
/// <param name="Selected">Whether the selection includes it.</param>
/// <param name="Forced">Whether it is forced.</param>
/// <param name="Decision">Run, skip, resume or re-run, and why.</param>
public sealed record PlannedStage(PipelineStage Stage, IReadOnlyList<string> DependsOn, bool Selected, bool Forced, StageDecision Decision);

/// <summary>
/// Orders a pipeline's stages by the files they read and write (a stage reading inside another's
/// output folder runs after it; file order breaks ties), and decides for each what a run would do.
/// </summary>
public static class PipelinePlanner
{
    /// <summary>Orders the stages; a cycle, or (with <paramref name="requireInputs"/>) an input that neither exists nor is written by a stage, is an error naming the place.</summary>
    public static IReadOnlyList<(PipelineStage Stage, IReadOnlyList<string> DependsOn)> Order(PipelineDefinition pipeline, bool requireInputs = true)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var stages = pipeline.Stages;
        var outputs = stages.ToDictionary(s => s.Name, s => s.OutputDirectory, StringComparer.Ordinal);
        var dependsOn = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var stage in stages)
        {
            var own = stage.OutputDirectory;
            var upstream = new List<string>();
            foreach (var input in stage.Inputs)
            {
                var writers = stages.Where(other => other != stage && IsInside(input, outputs[other.Name])).Select(s => s.Name).ToList();
                if (requireInputs && writers.Count == 0 && !IsInside(input, own) && !File.Exists(input) && !Directory.Exists(input))
                {
                    throw new SkimConfigException($"{pipeline.Path}:{stage.Line}: stage '{stage.Name}': input '{Relative(input)}' does not exist and no stage of the pipeline writes it");
                }
                upstream.AddRange(writers);
            }
            dependsOn[stage.Name] = [.. upstream.Distinct()];
        }

        // Kahn's algorithm, always taking the earliest ready stage in file order.
        var order = new List<(PipelineStage, IReadOnlyList<string>)>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        while (order.Count < stages.Count)
        {
            var next = stages.FirstOrDefault(s => !done.Contains(s.Name) && dependsOn[s.Name].All(done.Contains));
            if (next is null)
            {
                var cycle = stages.Where(s => !done.Contains(s.Name)).ToList();
                throw new SkimConfigException($"{pipeline.Path}:{cycle[0].Line}: stages {string.Join(" → ", cycle.Select(s => $"'{s.Name}'"))} read each other's outputs (a cycle); give one of them another output folder or input");
            }
            done.Add(next.Name);
            order.Add((next, dependsOn[next.Name]));
        }
        return order;
    }

    /// <summary>
    /// Plans a run: the order, the selection, and each selected stage's decision. A dry run
    /// (<paramref name="dryRun"/>) reports what would stop a stage — a missing input, an option a
    /// stage refuses, a missing key variable — as the stage's reason instead of failing, so that a
    /// pipeline for another machine can be checked here.
    /// </summary>
    public static IReadOnlyList<PlannedStage> Plan(PipelineDefinition pipeline, PipelineSelection selection, bool dryRun = false)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(selection);
        var order = Order(pipeline, requireInputs: !dryRun);
        var names = order.Select(o => o.Stage.Name).ToList();
        foreach (var name in new[] { selection.From, selection.To }.Concat(selection.Only).Concat(selection.Force.Where(f => f != "all")))
        {
            if (name is not null && !names.Contains(name))
            {
                throw new SkimConfigException($"no stage named '{name}' in {pipeline.Path}; stages: {string.Join(", ", names)}");
            }
        }
        var from = selection.From is null ? 0 : names.IndexOf(selection.From);
        var to = selection.To is null ? names.Count - 1 : names.IndexOf(selection.To);
        var plan = new List<PlannedStage>();
        var pending = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < order.Count; i++)
        {
            var (stage, upstream) = order[i];
            var selected = i >= from && i <= to && (selection.Only.Count == 0 || selection.Only.Contains(stage.Name));
            var forced = selected && (selection.Force.Contains("all") || selection.Force.Contains(stage.Name));
            StageDecision decision;
            if (!selected)
            {
                decision = new StageDecision(StageAction.Skip, "not selected");
            }
            else if (stage.Provided)
            {
                decision = new StageDecision(StageAction.Skip, "provided");
            }
            else if (upstream.FirstOrDefault(pending.Contains) is { } runningUpstream)
            {
                // Its inputs will change when the upstream stage runs; what the manifest says now does not count.
                try
                {
                    stage.Stage.Validate(stage.Options);
                }
                catch (SkimException) when (stage.Inputs.Any(input => !File.Exists(input) && !Directory.Exists(input)))
                {
                    // Checks that need a file the upstream stage has not written yet; they run again when the stage does.
                }
                var action = Core.Manifests.RunManifest.Read(stage.OutputDirectory) is null ? StageAction.Run : StageAction.Rerun;
                decision = new StageDecision(action, $"after '{runningUpstream}'");
            }
            else if (dryRun && MissingInput(stage, order) is { } missing)
            {
                decision = new StageDecision(StageAction.Run, $"not ready: input '{Relative(missing)}' does not exist and no stage writes it");
            }
            else
            {
                try
                {
                    decision = StageExecution.Plan(stage.Stage, stage.Options, forced);
                }
                catch (SkimException e) when (dryRun)
                {
                    decision = new StageDecision(StageAction.Run, "not ready: " + e.Message);
                }
            }
            if (decision.Action != StageAction.Skip)
            {
                pending.Add(stage.Name);
            }
            plan.Add(new PlannedStage(stage, upstream, selected, forced, decision));
        }
        return plan;
    }

    private static string? MissingInput(PipelineStage stage, IReadOnlyList<(PipelineStage Stage, IReadOnlyList<string> DependsOn)> order) =>
        stage.Inputs.FirstOrDefault(input => !File.Exists(input) && !Directory.Exists(input)
            && !order.Any(o => IsInside(input, o.Stage.OutputDirectory)));

    /// <summary>Whether <paramref name="path"/> is <paramref name="folder"/> or lies inside it.</summary>
    internal static bool IsInside(string path, string folder)
    {
        var a = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var b = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        return a == b || a.StartsWith(b + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }

    /// <summary>A path relative to the working directory when it lies below it (as users write paths), else as it is.</summary>
    public static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
