using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.IO;
using Skim.Models.Weights;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Skim.Distill.FineTuning;

/// <summary>The counters and log of a fine-tuning run, saved with each checkpoint.</summary>
/// <param name="Step">Optimizer steps done; the next step's epoch and position follow from it and the data size.</param>
/// <param name="Tokens">Ids trained on so far (padding excluded).</param>
/// <param name="ResponseTokens">Response ids the loss has covered so far.</param>
/// <param name="Seconds">Training time so far.</param>
/// <param name="Log">Every train_log.csv row so far.</param>
/// <param name="Options">The options that shape training, as JSON; resuming with others is refused.</param>
public sealed record FineTuneState(long Step, long Tokens, long ResponseTokens, double Seconds, IReadOnlyList<FineTuneLogRow> Log, JsonObject Options);

/// <summary>
/// What a killed run needs to continue at the same step with the same result, in
/// <c>checkpoint/</c>: the trained weights (the adapters, or every weight for full fine-tuning, in
/// float32), AdamW's moments and step counts, libtorch's generator state, and the counters and log.
/// The data order needs no saving: each epoch's order is remade from the seed and the epoch, and
/// the step gives the epoch and the position in it. Dropout masks are seeded from the step too.
/// </summary>
/// <remarks>
/// Written into <c>checkpoint.tmp/</c> (state last), the previous checkpoint renamed
/// <c>checkpoint.old/</c>, the new one renamed into place and the old one deleted: a crash at any
/// point leaves one complete checkpoint that <see cref="Find"/> finds.
/// </remarks>
public static class FineTuneCheckpoint
{
    /// <summary>The checkpoint folder inside the output folder.</summary>
    public const string FolderName = "checkpoint";

    private const string WeightsFile = "trainable.safetensors";
    private const string OptimizerFile = "optimizer.bin";
    private const string RngFile = "rng_state.bin";
    private const string StateFile = "state.json";

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>Writes a checkpoint into <paramref name="outputDirectory"/>/checkpoint.</summary>
    public static void Save(string outputDirectory, IReadOnlyList<(string Name, Tensor Value)> weights, OptimizerHelper optimizer, FineTuneState state)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(optimizer);
        var folder = Path.Combine(outputDirectory, FolderName);
        var staging = folder + ".tmp";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
        Directory.CreateDirectory(staging);
        SafeTensorsWriter.Write(Path.Combine(staging, WeightsFile), weights.Select(w => TensorConversion.ToRaw(w.Name, w.Value)));
        AtomicFile.Write(Path.Combine(staging, OptimizerFile), stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            optimizer.save_state_dict(writer);
        });
        using (var rng = TorchSharp.torch.random.get_rng_state())
        {
            var bytes = rng.data<byte>().ToArray();
            AtomicFile.Write(Path.Combine(staging, RngFile), stream => stream.Write(bytes));
        }
        AtomicFile.WriteAllText(Path.Combine(staging, StateFile), JsonSerializer.Serialize(state, s_json) + "\n");
        AtomicFolder.Replace(staging, folder);
    }

    /// <summary>Finds the complete checkpoint of <paramref name="outputDirectory"/>, or null.</summary>
    public static string? Find(string outputDirectory)
    {
        return AtomicFolder.FindComplete(outputDirectory, FolderName, StateFile);
    }

    /// <summary>Reads the state of the checkpoint in <paramref name="folder"/>.</summary>
    /// <exception cref="SkimFormatException">The state file is not valid.</exception>
    public static FineTuneState ReadState(string folder)
    {
        var path = Path.Combine(folder, StateFile);
        try
        {
            return JsonSerializer.Deserialize<FineTuneState>(File.ReadAllText(path), s_json)
                ?? throw new SkimFormatException(path, null, "expected a fine-tuning state, found null");
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, null, $"not a valid fine-tuning state: {e.Message}");
        }
    }

    /// <summary>Copies the checkpoint's weights into <paramref name="weights"/> (same names and shapes), and restores the optimizer and generator states.</summary>
    /// <exception cref="SkimFormatException">The checkpoint does not fit the model.</exception>
    public static void Restore(string folder, IReadOnlyList<(string Name, Tensor Value)> weights, OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(optimizer);
        var path = Path.Combine(folder, WeightsFile);
        using (var file = SafeTensorsFile.Open(path))
        {
            var expected = weights.ToDictionary(w => w.Name, w => w.Value, StringComparer.Ordinal);
            var stored = file.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
            if (WeightLoader.Describe(expected, stored, "the trained weights") is { } problem)
            {
                throw new SkimFormatException(path, null, problem);
            }
            using var noGrad = no_grad();
            foreach (var (name, target) in weights)
            {
                using var value = TensorConversion.ToTorch(stored[name], target.dtype, target.device);
                target.copy_(value);
            }
        }
        using (var stream = File.OpenRead(Path.Combine(folder, OptimizerFile)))
        using (var reader = new BinaryReader(stream))
        {
            optimizer.load_state_dict(reader);
        }
        var rngPath = Path.Combine(folder, RngFile);
        if (File.Exists(rngPath))
        {
            var bytes = File.ReadAllBytes(rngPath);
            using var rng = tensor(bytes, ScalarType.Byte);
            TorchSharp.torch.random.set_rng_state(rng);
        }
    }
}
