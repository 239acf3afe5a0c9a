using System.Diagnostics;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Manifests;
using Skim.Core.Stages;

namespace Skim.Pipelines.Running;

/// <summary>What happened to a stage.</summary>
/// <param name="Decision">Run, skip, resume or re-run, and why.</param>
/// <param name="Summary">The stage's numbers (from its manifest when skipped).</param>
/// <param name="Elapsed">Wall time of this call.</param>
public sealed record StageOutcome(StageDecision Decision, JsonObject Summary, TimeSpan Elapsed);

/// <summary>
/// The one code path that runs a stage, for <c>skim run step-N</c> and for every stage of
/// <c>skim pipeline run</c>: validate, decide from the manifest, clear a stale output folder, run
/// (the stage resumes by itself), and report.
/// </summary>
public static class StageExecution
{
    /// <summary>Decides what <see cref="RunAsync"/> would do (for <c>--dry-run</c>).</summary>
    public static StageDecision Plan(IStage stage, object options, bool force = false)
    {
        ArgumentNullException.ThrowIfNull(stage);
        stage.Validate(options);
        return force ? new StageDecision(StageAction.Rerun, "forced") : StageFreshness.Decide(stage, options);
    }

    /// <summary>Runs, resumes or skips <paramref name="stage"/>.</summary>
    /// <param name="stage">The stage.</param>
    /// <param name="options">Its options record.</param>
    /// <param name="force">Run again even when the manifest says it is up to date.</param>
    /// <param name="progress">Progress sink.</param>
    /// <param name="ct">Cancellation: the stage stops at its next durable point.</param>
    public static async Task<StageOutcome> RunAsync(IStage stage, object options, bool force, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var decision = Plan(stage, options, force);
        var directory = stage.OutputDirectory(options);
        if (decision.Action == StageAction.Skip)
        {
            return new StageOutcome(decision, RunManifest.Read(directory)?.Summary ?? [], TimeSpan.Zero);
        }
        if (decision.Action == StageAction.Rerun)
        {
            ClearStageFolder(stage, directory);
        }
        var clock = Stopwatch.StartNew();
        var summary = await stage.RunAsync(options, progress, ct).ConfigureAwait(false);
        return new StageOutcome(decision, summary, clock.Elapsed);
    }

    /// <summary>
    /// Empties a folder before a re-run, but only one this stage kind wrote (its manifest says so):
    /// a folder without a manifest, or another stage's, is the user's and is never deleted. The
    /// files the stage keeps on a re-run (<see cref="IStage.KeptOnRerun"/>) stay.
    /// </summary>
    private static void ClearStageFolder(IStage stage, string directory)
    {
        var kind = stage.Kind;
        var kept = stage.KeptOnRerun.Select(k => Path.GetFullPath(Path.Combine(directory, k))).ToHashSet(StringComparer.Ordinal);
        var manifest = RunManifest.Read(directory);
        if (manifest is null)
        {
            return;
        }
        if (manifest.Stage != kind)
        {
            throw new SkimConfigException($"{directory}: holds the output of stage '{manifest.Stage}', not '{kind}'; choose another output folder");
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            if (kept.Contains(Path.GetFullPath(entry)))
            {
                continue;
            }
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
    }
}
