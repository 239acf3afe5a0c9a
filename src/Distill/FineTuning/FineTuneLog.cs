using System.Globalization;
using System.Text;
using Skim.Core.IO;

namespace Skim.Distill.FineTuning;

/// <summary>One row of <c>train_log.csv</c>: an optimizer step, or step 0 for the validation loss before training.</summary>
/// <param name="Step">Optimizer steps done (0 before the first).</param>
/// <param name="Epoch">The epoch of the step, from 1 (0 for the row before training).</param>
/// <param name="LearningRate">The learning rate the step used.</param>
/// <param name="TrainLoss">The step's loss per response token over its global batch; null on the row before training.</param>
/// <param name="ValLoss">The validation loss per response token after the step, when it was computed.</param>
/// <param name="Tokens">Ids trained on so far (padding excluded).</param>
/// <param name="Seconds">Training time so far, over every resumed part of the run.</param>
public sealed record FineTuneLogRow(long Step, int Epoch, double LearningRate, double? TrainLoss, double? ValLoss, long Tokens, double Seconds);

/// <summary>Writes <c>train_log.csv</c>, rewritten whole and atomically.</summary>
public static class FineTuneLog
{
    /// <summary>The file name in the output folder.</summary>
    public const string FileName = "train_log.csv";

    /// <summary>The header row.</summary>
    public const string Header = "step,epoch,lr,train_loss,val_loss,tokens,seconds";

    /// <summary>Writes <paramref name="rows"/> to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<FineTuneLogRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new StringBuilder(Header).Append('\n');
        foreach (var row in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{row.Step},{row.Epoch},{row.LearningRate:G8},{Number(row.TrainLoss)},{Number(row.ValLoss)},{row.Tokens},{row.Seconds:F3}\n");
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }

    // Losses are written round-trippable so that resumed and uninterrupted logs compare exactly.
    private static string Number(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "";
}
