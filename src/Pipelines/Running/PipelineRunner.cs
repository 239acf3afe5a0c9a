using System.Diagnostics;
using System.Text.Json.Nodes;
using Skim.Core.Stages;
using Skim.Pipelines.Definition;

namespace Skim.Pipelines.Running;

/// <summary>Progress of a pipeline: which stage, and that stage's own progress.</summary>
/// <param name="Stage">The stage's name.</param>
/// <param name="Index">Its position among the stages that run (1-based).</param>
/// <param name="Count">The stages that run.</param>
/// <param name="Inner">The stage's progress.</param>
public readonly record struct PipelineProgress(string Stage, int Index, int Count, StageProgress Inner);

/// <summary>What happened to one stage in a pipeline run.</summary>
/// <param name="Name">The stage's name.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Status">"ran", "resumed", "re-ran", "skipped", "provided", "not selected", "failed", "cancelled" or "not run".</param>
/// <param name="Reason">Why (from the plan).</param>
/// <param name="Seconds">Wall time of this run (0 when skipped).</param>
/// <param name="Summary">The stage's numbers (from its manifest when skipped).</param>
/// <param name="OutputDirectory">Its output folder.</param>
public sealed record StageReport(string Name, string Kind, string Status, string Reason, double Seconds, JsonObject Summary, string OutputDirectory);

/// <summary>The result of a pipeline run.</summary>
/// <param name="Pipeline">The pipeline.</param>
/// <param name="Stages">Each stage's report, in run order.</param>
/// <param name="Seconds">Wall time.</param>
/// <param name="ReportPath">The <c>report.md</c> written, or null.</param>
public sealed record PipelineRunResult(PipelineDefinition Pipeline, IReadOnlyList<StageReport> Stages, double Seconds, string? ReportPath);

/// <summary>
/// Runs a pipeline: plans it (<see cref="PipelinePlanner"/>), then runs, resumes or skips each
/// selected stage through <see cref="StageExecution"/> — the code path <c>skim run</c> uses — and
/// rewrites <c>report.md</c> after every stage, so that a run cut short still leaves its table.
/// </summary>
public static class PipelineRunner
{
    /// <summary>Runs <paramref name="pipeline"/>.</summary>
    /// <param name="pipeline">The parsed pipeline.</param>
    /// <param name="selection">Which stages, and which are forced.</param>
    /// <param name="progress">Progress sink.</param>
    /// <param name="ct">Cancellation: the running stage stops at its next durable point; the report says so.</param>
    public static async Task<PipelineRunResult> RunAsync(PipelineDefinition pipeline, PipelineSelection selection, IProgress<PipelineProgress>? progress, CancellationToken ct)
    {
        var plan = PipelinePlanner.Plan(pipeline, selection);
        var clock = Stopwatch.StartNew();
        var reports = plan.Select(p => new StageReport(p.Stage.Name, p.Stage.Kind, Initial(p), p.Decision.Reason, 0, SkippedSummary(p), p.Stage.OutputDirectory)).ToList();
        var toRun = plan.Count(p => p.Decision.Action != StageAction.Skip);
        var index = 0;
        for (var i = 0; i < plan.Count; i++)
        {
            var planned = plan[i];
            if (planned.Decision.Action == StageAction.Skip)
            {
                continue;
            }
            index++;
            var stage = planned.Stage;
            var position = index;
            var sink = progress is null ? null : new Progress<StageProgress>(p => progress.Report(new PipelineProgress(stage.Name, position, toRun, p)));
            var stageClock = Stopwatch.StartNew();
            try
            {
                var outcome = await StageExecution.RunAsync(stage.Stage, stage.Options, planned.Forced, sink, ct).ConfigureAwait(false);
                reports[i] = reports[i] with
                {
                    Status = outcome.Decision.Action switch
                    {
                        StageAction.Skip => "skipped",
                        StageAction.Resume => "resumed",
                        StageAction.Rerun => "re-ran",
                        _ => "ran",
                    },
                    Reason = outcome.Decision.Reason,
                    Seconds = stageClock.Elapsed.TotalSeconds,
                    Summary = outcome.Summary,
                };
            }
            catch (OperationCanceledException)
            {
                reports[i] = reports[i] with { Status = "cancelled", Seconds = stageClock.Elapsed.TotalSeconds };
                PipelineReport.Write(pipeline, reports, clock.Elapsed.TotalSeconds);
                throw;
            }
            catch (Exception e)
            {
                reports[i] = reports[i] with { Status = "failed", Reason = e.Message, Seconds = stageClock.Elapsed.TotalSeconds };
                PipelineReport.Write(pipeline, reports, clock.Elapsed.TotalSeconds);
                throw;
            }
            PipelineReport.Write(pipeline, reports, clock.Elapsed.TotalSeconds);
        }
        var path = PipelineReport.Write(pipeline, reports, clock.Elapsed.TotalSeconds);
        return new PipelineRunResult(pipeline, reports, clock.Elapsed.TotalSeconds, path);
    }

    private static string Initial(PlannedStage planned) => planned.Decision.Action == StageAction.Skip
        ? planned.Decision.Reason switch
        {
            "provided" => "provided",
            "not selected" => "not selected",
            _ => "skipped",
        }
        : "not run";

    private static JsonObject SkippedSummary(PlannedStage planned) =>
        planned.Decision.Action == StageAction.Skip && !planned.Stage.Provided
            ? Core.Manifests.RunManifest.Read(planned.Stage.OutputDirectory)?.Summary ?? []
            : [];
}
