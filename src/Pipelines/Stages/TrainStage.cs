using System.Text.Json.Nodes;
using Skim.Core.Stages;
using Skim.XcTrain.Training;

namespace Skim.Pipelines.Stages;

/// <summary>
/// XC training (<c>skim train</c>) as a pipeline stage: the baseline on the observed matrix, the SKIM
/// model on <c>trn_X_Y_skim.npz</c>, or the mapping encoder step-2 uses.
/// </summary>
public sealed class TrainStage : Stage<XcTrainOptions>
{
    /// <inheritdoc/>
    public override string Kind => "train";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Inputs(XcTrainOptions options) => options.InputPaths();

    /// <inheritdoc/>
    protected override string OutputDirectory(XcTrainOptions options) => options.OutputDirectory;

    /// <inheritdoc/>
    protected override void Validate(XcTrainOptions options) => options.Validate();

    /// <inheritdoc/>
    protected override async Task<JsonObject> RunAsync(XcTrainOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        // The trainer keeps a checkpoint per epoch; finding one means an interrupted run to continue.
        var resume = Directory.Exists(options.OutputDirectory) && TrainingCheckpoint.Find(Path.GetFullPath(options.OutputDirectory)) is not null;
        var sink = progress is null ? null : new Progress<XcTrainProgress>(p =>
            progress.Report(new StageProgress($"train epoch {Math.Max(p.Epoch, 1)}/{p.Epochs}", p.Batch, p.Batches, "batches", double.IsFinite(p.Loss) ? $"loss {p.Loss:F4}" : p.Phase)));
        var result = await XcTrainer.RunAsync(options with { Resume = resume || options.Resume }, sink, ct).ConfigureAwait(false);
        var last = result.Records.Count > 0 ? result.Records[^1] : null;
        var summary = new JsonObject
        {
            ["train_rows"] = result.TrainRows,
            ["epochs"] = result.Records.Count(r => r.Epoch > 0),
            ["resumed_from_epoch"] = result.ResumedFromEpoch,
            ["final_loss"] = last is not null && double.IsFinite(last.Loss) ? last.Loss : null,
        };
        foreach (var (metric, value) in last?.Validation ?? new Dictionary<string, double>())
        {
            summary["val_" + metric] = double.IsFinite(value) ? value : null;
        }
        return summary;
    }
}
