using System.Text.Json;
using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.IO;
using Skim.Models.Encoders;
using Skim.Models.ModelFactory;
using Skim.Models.Optimization;
using Skim.Models.Weights;

namespace Skim.XcTrain.Training;

/// <summary>
/// Where a training run's encoder comes from and where it goes: <c>--encoder</c> resolved to a
/// Hugging Face folder (an existing checkpoint, the <c>encoder/</c> of an earlier run, or a new
/// random one for <c>init:ARCH-PRESET</c>), and the trained encoder written back in the same form,
/// so that <c>skim embed</c>, <c>skim run step-2</c> and HF transformers load it.
/// </summary>
public static class EncoderFolder
{
    /// <summary>The folder of a run that holds its trained encoder.</summary>
    public const string RunEncoderFolder = "encoder";

    /// <summary>The file beside the weights that records how the encoder embeds (pooling, normalisation, length).</summary>
    public const string SettingsFileName = "skim_encoder.json";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// Resolves <paramref name="encoder"/> to a checkpoint folder, creating a random one under
    /// <paramref name="runDirectory"/> for <c>init:ARCH-PRESET</c> (vocabulary trained on
    /// <paramref name="corpus"/>); an existing one there is reused, so a resumed run starts from the same weights.
    /// </summary>
    /// <exception cref="SkimConfigException">The value is neither a folder with config.json nor a valid init spec.</exception>
    public static string Resolve(string encoder, string runDirectory, IEnumerable<string> corpus, long seed)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (encoder.StartsWith(XcTrainOptions.InitPrefix, StringComparison.Ordinal))
        {
            return CreateRandom(encoder, runDirectory, corpus, seed);
        }
        if (File.Exists(Path.Combine(encoder, RunEncoderFolder, "config.json")))
        {
            return Path.Combine(encoder, RunEncoderFolder);
        }
        if (File.Exists(Path.Combine(encoder, "config.json")))
        {
            return encoder;
        }
        throw new SkimConfigException($"encoder '{encoder}': expected a Hugging Face folder with config.json, a skim train run folder, or {XcTrainOptions.InitPrefix}ARCH-PRESET (e.g. {XcTrainOptions.DefaultEncoder})");
    }

    /// <summary>
    /// Writes <paramref name="encoder"/> as a checkpoint folder: the source folder's files other than
    /// weights (config.json, tokenizer files), <c>model.safetensors</c> with the trained weights, and
    /// <see cref="SettingsFileName"/>. The folder appears complete or not at all.
    /// </summary>
    /// <param name="encoder">The trained encoder.</param>
    /// <param name="sourceDirectory">The folder it was loaded from (config and tokenizer files are copied).</param>
    /// <param name="outputDirectory">The folder to write.</param>
    /// <param name="settings">Pooling, normalisation and length, written beside the weights.</param>
    /// <param name="masters">With mixed precision, the float32 master weights: they are what is saved (see <see cref="SaveWeights"/>).</param>
    public static void Save(TextEncoder encoder, string sourceDirectory, string outputDirectory, EncoderSettings settings, MasterWeights? masters = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var output = Path.GetFullPath(outputDirectory);
        var staging = output + ".tmp";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
        Directory.CreateDirectory(staging);
        foreach (var file in Directory.EnumerateFiles(sourceDirectory))
        {
            var name = Path.GetFileName(file);
            if (!IsWeights(name) && name != SettingsFileName)
            {
                File.Copy(file, Path.Combine(staging, name));
            }
        }
        SaveWeights(encoder, Path.Combine(staging, SafeTensorsIndex.SingleFileName), masters);
        AtomicFile.WriteAllText(Path.Combine(staging, SettingsFileName), JsonSerializer.Serialize(settings, s_json) + "\n");
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }
        Directory.Move(staging, output);
    }

    /// <summary>
    /// Writes the encoder's weights (transformer and projection) under their checkpoint names. With
    /// separate float32 <paramref name="masters"/> (mixed precision) the trainable tensors are the
    /// masters and every floating tensor is written in float32, so the file holds the exact training
    /// state and loads into a float32 or a bf16 encoder alike.
    /// </summary>
    public static void SaveWeights(TextEncoder encoder, string path, MasterWeights? masters = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var exact = masters is { Separate: true } ? masters.Named.ToDictionary(e => e.Name, e => e.Value) : null;
        var tensors = encoder.Transformer.state_dict()
            .Concat(encoder.Projection?.state_dict().Select(e => KeyValuePair.Create(TextEncoder.ProjectionPrefix + e.Key, e.Value)) ?? [])
            .Select(e => exact is null
                ? TensorConversion.ToRaw(e.Key, e.Value)
                : TensorConversion.ToRaw(e.Key, exact.GetValueOrDefault(e.Key, e.Value), e.Value.is_floating_point() ? TensorDType.Float32 : null))
            .ToList();
        SafeTensorsWriter.Write(path, tensors, WeightSaver.PyTorchFormat);
    }

    /// <summary>Reads <see cref="SettingsFileName"/> of a checkpoint folder, or null when it has none.</summary>
    public static EncoderSettings? ReadSettings(string directory)
    {
        var path = Path.Combine(directory, SettingsFileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<EncoderSettings>(File.ReadAllText(path), s_json)
                ?? throw new SkimFormatException(path, null, "expected an object, found null");
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, null, $"not valid encoder settings: {e.Message}");
        }
    }

    private static bool IsWeights(string name) =>
        name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".safetensors.index.json", StringComparison.Ordinal)
        || name.EndsWith(".bin", StringComparison.Ordinal) || name.EndsWith(".pt", StringComparison.Ordinal) || name.EndsWith(".pth", StringComparison.Ordinal);

    private static string CreateRandom(string spec, string runDirectory, IEnumerable<string> corpus, long seed)
    {
        var value = spec[XcTrainOptions.InitPrefix.Length..];
        var dash = value.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || dash == value.Length - 1)
        {
            throw new SkimConfigException($"encoder '{spec}': expected {XcTrainOptions.InitPrefix}ARCH-PRESET with ARCH bert or distilbert (e.g. {XcTrainOptions.DefaultEncoder})");
        }
        var (architecture, preset) = (value[..dash], value[(dash + 1)..]);
        if (architecture is not ("bert" or "distilbert"))
        {
            throw new SkimConfigException($"encoder '{spec}': expected the encoder architecture bert or distilbert, found \"{architecture}\"");
        }
        var folder = Path.Combine(runDirectory, "init-encoder");
        if (File.Exists(Path.Combine(folder, "config.json")))
        {
            return folder;
        }
        Directory.CreateDirectory(runDirectory);
        var corpusPath = Path.Combine(runDirectory, "init-encoder-corpus.txt");
        AtomicFile.Write(corpusPath, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            foreach (var line in corpus)
            {
                writer.WriteLine(line.ReplaceLineEndings(" "));
            }
        });
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = architecture,
            Preset = preset,
            Tokenizer = ModelInitOptions.TrainPrefix + corpusPath,
            OutputDirectory = folder,
            Seed = seed,
        });
        File.Delete(corpusPath);
        return folder;
    }
}

/// <summary>How a trained encoder embeds texts (written beside its weights as <c>skim_encoder.json</c>).</summary>
/// <param name="Pooling">mean or cls.</param>
/// <param name="Normalize">Whether embeddings are L2-normalised.</param>
/// <param name="MaxLength">The token length it was trained with.</param>
public sealed record EncoderSettings(string Pooling, bool Normalize, int MaxLength);
