namespace Skim.Core.Stages;

/// <summary>
/// Progress of a long stage, in one shape for every stage so that the CLI and the pipeline runner
/// show them all the same way.
/// </summary>
/// <param name="Phase">What is being done now, e.g. "teacher", "fine-tune", "embed queries", "knn".</param>
/// <param name="Done">Units done in this phase (including those found done on resume).</param>
/// <param name="Total">Units in this phase (0 when unknown).</param>
/// <param name="Unit">What is counted, e.g. "requests", "steps", "rows".</param>
/// <param name="Detail">An optional short note (loss, cost so far, tokens/s), shown after the counts.</param>
public readonly record struct StageProgress(string Phase, long Done, long Total, string Unit, string? Detail = null);
