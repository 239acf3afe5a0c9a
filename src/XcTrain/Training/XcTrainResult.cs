namespace Skim.XcTrain.Training;

/// <summary>How far a training run is.</summary>
/// <param name="Epoch">The epoch in progress, from 1.</param>
/// <param name="Epochs">Epochs in the run.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Loss">The running mean loss of this epoch.</param>
/// <param name="ExamplesPerSecond">Train rows per second in this epoch so far.</param>
/// <param name="Phase">What is happening: "training", "validating", "clustering", "preparing".</param>
public readonly record struct XcTrainProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double ExamplesPerSecond, string Phase);

/// <summary>What a training run produced.</summary>
/// <param name="RunDirectory">The run folder.</param>
/// <param name="EncoderDirectory">The trained encoder, in Hugging Face form.</param>
/// <param name="Records">One record per epoch, resumed ones included.</param>
/// <param name="TrainRows">Train points trained on.</param>
/// <param name="ValidationRows">Train points held out for validation.</param>
/// <param name="RowsWithoutLabels">Train points skipped for having no positive.</param>
/// <param name="ResumedFromEpoch">The epochs already done when the run started (0 for a fresh run).</param>
/// <param name="Elapsed">Wall time of this invocation.</param>
public sealed record XcTrainResult(
    string RunDirectory,
    string EncoderDirectory,
    IReadOnlyList<EpochRecord> Records,
    int TrainRows,
    int ValidationRows,
    int RowsWithoutLabels,
    int ResumedFromEpoch,
    TimeSpan Elapsed);
