using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.IO;
using Skim.Models.Encoders;
using Skim.Models.Optimization;
using Skim.Models.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.XcTrain.Training;

/// <summary>
/// Everything a run needs to continue exactly where it stopped, saved after every epoch in
/// <c>checkpoint/</c>: the encoder weights, the optimizer's moments and step counts, the run's
/// counters and epoch records, and the family's sampling state (NGAME's memory bank and clusters,
/// the dual encoder's negative-sampler memory). Randomness needs no saved generator: every draw is
/// seeded from the run seed and its position (<see cref="SeedMix"/>).
/// </summary>
/// <remarks>
/// A checkpoint is written into <c>checkpoint.tmp/</c>, the previous one is renamed
/// <c>checkpoint.old/</c>, the new one renamed into place, and the old one deleted; a crash at any
/// point leaves one complete checkpoint that <see cref="Find"/> finds.
/// </remarks>
public static class TrainingCheckpoint
{
    /// <summary>The checkpoint folder of a run.</summary>
    public const string FolderName = "checkpoint";

    private const string StateFile = "state.json";
    private const string OptimizerFile = "optimizer.bin";

    // Validation metrics can be NaN (PSP without labels); JSON has no NaN, so it is written "NaN".
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes a checkpoint of the run in <paramref name="runDirectory"/>.</summary>
    /// <param name="runDirectory">The run folder.</param>
    /// <param name="encoder">The encoder being trained.</param>
    /// <param name="optimizer">Its optimizer.</param>
    /// <param name="state">Counters, records and options.</param>
    /// <param name="arrays">Named arrays of the sampling state (written as .npy).</param>
    /// <param name="masters">With mixed precision, the float32 master weights, saved in place of the encoder's rounded ones.</param>
    public static void Save(string runDirectory, TextEncoder encoder, TorchSharp.Modules.OptimizerHelper optimizer, TrainingState state, IReadOnlyDictionary<string, NpyArray> arrays, MasterWeights? masters = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(arrays);
        var folder = Path.Combine(runDirectory, FolderName);
        var staging = folder + ".tmp";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
        Directory.CreateDirectory(staging);
        EncoderFolder.SaveWeights(encoder, Path.Combine(staging, SafeTensorsIndex.SingleFileName), masters);
        AtomicFile.Write(Path.Combine(staging, OptimizerFile), stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            optimizer.save_state_dict(writer);
        });
        foreach (var (name, array) in arrays)
        {
            NpyFile.Write(Path.Combine(staging, name + ".npy"), array);
        }
        // The state goes last: a staging folder without it is incomplete and never used.
        AtomicFile.WriteAllText(Path.Combine(staging, StateFile), JsonSerializer.Serialize(state, s_json) + "\n");
        AtomicFolder.Replace(staging, folder);
    }

    /// <summary>Finds the run's complete checkpoint folder, or null when it has none.</summary>
    public static string? Find(string runDirectory)
    {
        return AtomicFolder.FindComplete(runDirectory, FolderName, StateFile);
    }

    /// <summary>Reads the state of the checkpoint in <paramref name="folder"/>.</summary>
    /// <exception cref="SkimFormatException">The state file is not valid.</exception>
    public static TrainingState ReadState(string folder)
    {
        var path = Path.Combine(folder, StateFile);
        try
        {
            return JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(path), s_json)
                ?? throw new SkimFormatException(path, null, "expected a training state, found null");
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, null, $"not a valid training state: {e.Message}");
        }
    }

    /// <summary>Loads the weights and optimizer state of the checkpoint in <paramref name="folder"/> into the run's objects.</summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="encoder">The encoder to load the weights into.</param>
    /// <param name="optimizer">The optimizer to load the state into.</param>
    /// <param name="masters">With mixed precision, the float32 master weights: loaded exactly from the file (copy them to the encoder after).</param>
    public static void Restore(string folder, TextEncoder encoder, TorchSharp.Modules.OptimizerHelper optimizer, MasterWeights? masters = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(optimizer);
        var weightsPath = Path.Combine(folder, SafeTensorsIndex.SingleFileName);
        using (var weights = WeightFiles.Open(weightsPath))
        {
            if (masters is { Separate: true })
            {
                masters.LoadValues(name => TensorConversion.ToTorch(weights.Tensors[name], ScalarType.Float32, encoder.Device));
            }
            var model = weights.Tensors.Where(e => !e.Key.StartsWith(TextEncoder.ProjectionPrefix, StringComparison.Ordinal)).ToDictionary();
            WeightLoader.LoadStrict(encoder.Transformer, model, weightsPath);
            if (encoder.Projection is { } projection)
            {
                var projectionWeights = weights.Tensors.Where(e => e.Key.StartsWith(TextEncoder.ProjectionPrefix, StringComparison.Ordinal))
                    .ToDictionary(e => e.Key[TextEncoder.ProjectionPrefix.Length..], e => e.Value);
                WeightLoader.LoadStrict(projection, projectionWeights, weightsPath);
            }
        }
        using var stream = File.OpenRead(Path.Combine(folder, OptimizerFile));
        using var reader = new BinaryReader(stream);
        optimizer.load_state_dict(reader);
    }

    /// <summary>Reads the sampling array <paramref name="name"/> of a checkpoint, or null when absent.</summary>
    public static NpyArray? ReadArray(string folder, string name)
    {
        var path = Path.Combine(folder, name + ".npy");
        return File.Exists(path) ? NpyFile.Read(path) : null;
    }
}

/// <summary>The counters and records of a run, saved with each checkpoint.</summary>
/// <param name="CompletedEpochs">Epochs finished.</param>
/// <param name="Steps">Batches trained.</param>
/// <param name="OptimizerSteps">Optimizer updates made (the learning-rate schedule's position).</param>
/// <param name="Records">One record per finished epoch.</param>
/// <param name="Options">The options that shape training, as JSON; a resume with other ones is refused.</param>
/// <param name="Sampling">The family's sampling state (NGAME's cluster schedule, a negative sampler's counters), as JSON.</param>
public sealed record TrainingState(int CompletedEpochs, long Steps, long OptimizerSteps, IReadOnlyList<EpochRecord> Records, JsonObject Options, JsonObject? Sampling);
