using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.IO;

namespace Skim.XcTrain.Classifiers.Miv;

/// <summary>One epoch of an M-IV run as <c>train_log.csv</c> records it.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Steps">Optimizer steps so far in the run.</param>
/// <param name="LearningRate">The learning rate of the epoch's last step.</param>
/// <param name="Loss">The mean loss over the epoch's batches.</param>
/// <param name="ShortlistRecall">The share of the train points' positives that the epoch's shortlist holds.</param>
/// <param name="ExamplesPerSecond">Train points per second of the epoch.</param>
/// <param name="Seconds">Wall time of the epoch, shortlist mining included.</param>
public sealed record MivEpochRecord(int Epoch, long Steps, double LearningRate, double Loss, double ShortlistRecall, double ExamplesPerSecond, double Seconds);

/// <summary>The counters and records of an M-IV run, saved with each checkpoint.</summary>
/// <param name="CompletedEpochs">Epochs finished.</param>
/// <param name="Steps">Optimizer steps taken.</param>
/// <param name="Records">One record per finished epoch.</param>
/// <param name="Options">The options that shape training, as JSON; a resume with other ones is refused.</param>
public sealed record MivState(int CompletedEpochs, long Steps, IReadOnlyList<MivEpochRecord> Records, JsonObject Options);

/// <summary>
/// The per-epoch checkpoint of an M-IV run (<c>checkpoint/</c> in its output folder): the classifier
/// vectors, SparseAdam's moments, the current shortlist and the run's counters. Randomness needs no
/// saved generator (every draw is seeded from the run seed and its position), so a run resumed from
/// here ends where the uninterrupted run ends. Written to <c>checkpoint.tmp/</c> and swapped into place
/// (<see cref="AtomicFolder"/>): a crash at any point leaves one complete checkpoint.
/// </summary>
public static class MivCheckpoint
{
    /// <summary>The checkpoint folder's name.</summary>
    public const string FolderName = "checkpoint";

    private const string StateFile = "state.json";

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes a checkpoint into <paramref name="outputDirectory"/>.</summary>
    /// <param name="outputDirectory">The classifier's output folder.</param>
    /// <param name="classifier">The classifier being trained.</param>
    /// <param name="shortlist">(train rows × k) row-major shortlist in use.</param>
    /// <param name="shortlistWidth">k.</param>
    /// <param name="state">Counters, records and options.</param>
    public static void Save(string outputDirectory, MivClassifier classifier, int[] shortlist, int shortlistWidth, MivState state)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(shortlist);
        var folder = Path.Combine(outputDirectory, FolderName);
        var staging = folder + ".tmp";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
        Directory.CreateDirectory(staging);
        var (first, second) = classifier.MomentArrays();
        NpyFile.Write(Path.Combine(staging, MivTrainer.ClassifierFileName), NpyArray.Create(classifier.WeightsArray(), classifier.Labels, classifier.Dimension));
        NpyFile.Write(Path.Combine(staging, "adam_m.npy"), NpyArray.Create(first, classifier.Labels, classifier.Dimension));
        NpyFile.Write(Path.Combine(staging, "adam_v.npy"), NpyArray.Create(second, classifier.Labels, classifier.Dimension));
        NpyFile.Write(Path.Combine(staging, "shortlist.npy"), NpyArray.Create(shortlist, shortlist.Length / Math.Max(1, shortlistWidth), shortlistWidth));
        // The state goes last: a staging folder without it is incomplete and never used.
        AtomicFile.WriteAllText(Path.Combine(staging, StateFile), JsonSerializer.Serialize(state, s_json) + "\n");
        AtomicFolder.Replace(staging, folder);
    }

    /// <summary>Finds the complete checkpoint of <paramref name="outputDirectory"/>, or null.</summary>
    public static string? Find(string outputDirectory) => AtomicFolder.FindComplete(outputDirectory, FolderName, StateFile);

    /// <summary>Reads a checkpoint's state.</summary>
    /// <exception cref="SkimFormatException">The state file is not valid.</exception>
    public static MivState ReadState(string folder)
    {
        var path = Path.Combine(folder, StateFile);
        try
        {
            return JsonSerializer.Deserialize<MivState>(File.ReadAllText(path), s_json)
                ?? throw new SkimFormatException(path, null, "expected an M-IV training state, found null");
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, null, $"not a valid M-IV training state: {e.Message}");
        }
    }

    /// <summary>Loads the vectors, moments and step count into <paramref name="classifier"/> and returns the saved shortlist.</summary>
    /// <exception cref="SkimFormatException">A file does not have the classifier's shape.</exception>
    public static int[] Restore(string folder, MivClassifier classifier, long steps, int shortlistWidth)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        float[] Matrix(string name)
        {
            var path = Path.Combine(folder, name);
            var array = NpyFile.Read(path);
            if (array.Shape is not [var rows, var columns] || rows != classifier.Labels || columns != classifier.Dimension)
            {
                throw new SkimFormatException(path, null, $"expected a ({classifier.Labels}, {classifier.Dimension}) float32 array, found shape ({string.Join(", ", array.Shape)})");
            }
            return array.As<float>();
        }
        classifier.LoadState(Matrix(MivTrainer.ClassifierFileName), Matrix("adam_m.npy"), Matrix("adam_v.npy"), steps);
        var shortlistPath = Path.Combine(folder, "shortlist.npy");
        var shortlist = NpyFile.Read(shortlistPath);
        if (shortlist.Shape is not [_, var width] || width != shortlistWidth)
        {
            throw new SkimFormatException(shortlistPath, null, $"expected a (rows, {shortlistWidth}) int32 shortlist, found shape ({string.Join(", ", shortlist.Shape)})");
        }
        return shortlist.As<int>();
    }

    /// <summary>Writes <c>train_log.csv</c> (one row per epoch), whole and atomically.</summary>
    public static void WriteLog(string path, IEnumerable<MivEpochRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var text = new StringBuilder("epoch,steps,learning_rate,loss,shortlist_recall,examples_per_second,seconds\n");
        foreach (var r in records)
        {
            text.Append(CultureInfo.InvariantCulture, $"{r.Epoch},{r.Steps},{r.LearningRate:G6},{r.Loss:G8},{r.ShortlistRecall:G6},{r.ExamplesPerSecond:F1},{r.Seconds:F2}\n");
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }
}
