using System.Globalization;
using System.Text;
using Skim.Core.IO;
using Skim.Core.Reports;

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

/// <summary>
/// Writes <c>train_log.csv</c>, one row per epoch, and its two charts (<c>train_loss.png</c>,
/// <c>train_validation.png</c>), all rewritten whole and atomically after each epoch.
/// </summary>
public static class TrainLog
{
    /// <summary>The file name in the run folder.</summary>
    public const string FileName = "train_log.csv";

    /// <summary>The chart of the training loss per epoch.</summary>
    public const string LossChartFileName = "train_loss.png";

    /// <summary>The chart of the validation metrics per epoch.</summary>
    public const string ValidationChartFileName = "train_validation.png";

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

    /// <summary>
    /// Draws <see cref="LossChartFileName"/> (mean training loss per epoch) and, when the run validates,
    /// <see cref="ValidationChartFileName"/> (each validation metric in % per epoch, epoch 0 being the
    /// untrained encoder) into <paramref name="directory"/>.
    /// </summary>
    public static void WriteCharts(string directory, IReadOnlyList<EpochRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var trained = records.Where(r => !double.IsNaN(r.Loss)).ToList();
        Charts.Line(Path.Combine(directory, LossChartFileName), "Training loss", "epoch", "mean loss over the epoch's batches",
            [("train", [.. trained.Select(r => (double)r.Epoch)], [.. trained.Select(r => r.Loss)])]);
        var validated = records.Where(r => r.Validation.Count > 0).ToList();
        if (validated.Count == 0)
        {
            return;
        }
        var series = ValidationMetrics
            .Select(m => (Name: m, Rows: validated.Where(r => r.Validation.TryGetValue(m, out var v) && !double.IsNaN(v)).ToList()))
            .Where(s => s.Rows.Count > 0)
            .Select(s => (s.Name, (double[])[.. s.Rows.Select(r => (double)r.Epoch)], (double[])[.. s.Rows.Select(r => 100 * r.Validation[s.Name])]))
            .ToList();
        Charts.Line(Path.Combine(directory, ValidationChartFileName), "Validation metrics (held-out train points)", "epoch", "%", series);
    }
}
