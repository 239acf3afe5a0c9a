using System.Globalization;
using System.Text;
using Skim.Core.IO;

namespace Skim.XcTrain.Training;

/// <summary>One epoch of a training run as <c>train_log.csv</c> records it.</summary>
/// <param name="Epoch">The epoch, from 1; 0 is the untrained encoder (validation only, loss NaN).</param>
/// <param name="Steps">Batches trained so far in the run.</param>
/// <param name="LearningRate">The learning rate of the epoch's last update.</param>
/// <param name="Loss">The mean training loss over the epoch's batches.</param>
/// <param name="ExamplesPerSecond">Train rows per second of the epoch (forward, backward and update).</param>
/// <param name="Seconds">Wall time of the epoch, validation included.</param>
/// <param name="Validation">Validation metrics (P@1, P@5, nDCG@5, PSP@5, R@10, R@100), empty without a validation split.</param>
public sealed record EpochRecord(int Epoch, long Steps, double LearningRate, double Loss, double ExamplesPerSecond, double Seconds, IReadOnlyDictionary<string, double> Validation);

/// <summary>Writes <c>train_log.csv</c>: one row per epoch, rewritten whole and atomically after each epoch.</summary>
public static class TrainLog
{
    /// <summary>The file name in the run folder.</summary>
    public const string FileName = "train_log.csv";

    /// <summary>The validation metrics recorded, in column order.</summary>
    public static readonly IReadOnlyList<string> ValidationMetrics = ["P@1", "P@5", "nDCG@5", "PSP@5", "R@10", "R@100"];

    /// <summary>Writes <paramref name="records"/> to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<EpochRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var text = new StringBuilder("epoch,steps,learning_rate,loss,examples_per_second,seconds");
        foreach (var metric in ValidationMetrics)
        {
            text.Append(",val_").Append(metric);
        }
        text.Append('\n');
        foreach (var record in records)
        {
            text.Append(CultureInfo.InvariantCulture, $"{record.Epoch},{record.Steps},{record.LearningRate:G6},{record.Loss:G8},{record.ExamplesPerSecond:F1},{record.Seconds:F2}");
            foreach (var metric in ValidationMetrics)
            {
                text.Append(',');
                if (record.Validation.TryGetValue(metric, out var value))
                {
                    text.Append(value.ToString("G6", CultureInfo.InvariantCulture));
                }
            }
            text.Append('\n');
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }
}
