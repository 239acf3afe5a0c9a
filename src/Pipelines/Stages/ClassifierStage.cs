using System.Text.Json.Nodes;
using Skim.Core.Stages;
using Skim.XcTrain.Classifiers.Miv;

namespace Skim.Pipelines.Stages;

/// <summary>
/// NGAME's M-IV extreme classifier (<c>skim classifier train</c>) as a pipeline stage: one vector per
/// label trained over the frozen encoder of a <c>train</c> stage's run, into <c>classifier/</c> of
/// that run unless an output folder is given.
/// </summary>
public sealed class ClassifierStage : Stage<MivOptions>
{
    /// <inheritdoc/>
    public override string Kind => MivTrainer.StageKind;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Inputs(MivOptions options) => options.InputPaths();

    /// <inheritdoc/>
    protected override string OutputDirectory(MivOptions options) => options.ResolvedOutputDirectory;

    /// <inheritdoc/>
    protected override void Validate(MivOptions options) => options.Validate();

    /// <inheritdoc/>
    protected override async Task<JsonObject> RunAsync(MivOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        // The trainer keeps a checkpoint per epoch; finding one means an interrupted run to continue.
        var output = options.ResolvedOutputDirectory;
        var resume = Directory.Exists(output) && MivCheckpoint.Find(Path.GetFullPath(output)) is not null;
        var result = await MivTrainer.RunAsync(options with { Resume = resume || options.Resume }, progress, ct).ConfigureAwait(false);
        var last = result.Records.Count > 0 ? result.Records[^1] : null;
        return new JsonObject
        {
            ["labels"] = result.Labels,
            ["train_rows"] = result.TrainRows,
            ["epochs"] = result.Records.Count,
            ["resumed_from_epoch"] = result.ResumedFromEpoch,
            ["final_loss"] = last is not null && double.IsFinite(last.Loss) ? last.Loss : null,
            ["shortlist_recall"] = last is not null && double.IsFinite(last.ShortlistRecall) ? last.ShortlistRecall : null,
        };
    }
}
