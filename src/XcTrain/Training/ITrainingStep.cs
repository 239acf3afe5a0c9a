using System.Text.Json.Nodes;
using Skim.Core.Formats.Npy;

namespace Skim.XcTrain.Training;

/// <summary>
/// What differs between model families inside <see cref="XcTrainer"/>'s loop: the order of the
/// train rows in an epoch, the loss of one batch (computed and back-propagated), what happens
/// between epochs, and the sampling state a checkpoint keeps.
/// </summary>
internal interface ITrainingStep : IDisposable
{
    /// <summary>Gets the train rows of <paramref name="epoch"/> (0-based) in batch order.</summary>
    int[] EpochOrder(int epoch);

    /// <summary>
    /// Computes the loss of the batch of train points <paramref name="rows"/>, back-propagates it
    /// multiplied by <paramref name="lossScale"/> (1 / gradient accumulation) and returns its value.
    /// </summary>
    double Run(int epoch, int batch, int[] rows, double lossScale);

    /// <summary>Called after the epoch's last batch (NGAME re-clusters here).</summary>
    void EndEpoch(int epoch);

    /// <summary>Writes the family's sampling state: counters as JSON, arrays into <paramref name="arrays"/>.</summary>
    JsonObject? SaveState(IDictionary<string, NpyArray> arrays);

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    void LoadState(JsonObject? state, Func<string, NpyArray?> arrays);
}
