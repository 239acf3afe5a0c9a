using System.Text.Json;
using Skim.Core;
using Skim.Models.Encoders;

namespace Skim.MapQueries.Step2;

/// <summary>
/// Finds the mapping encoder's checkpoint folder and how it embeds: a Hugging Face folder, a
/// folder with NGAME's state dict as its weights, or a <c>skim train</c> run folder, whose
/// <c>encoder/</c> holds the weights and a <c>skim_encoder.json</c> with pooling and normalisation.
/// </summary>
public static class MappingEncoder
{
    /// <summary>The sub-folder of a <c>skim train</c> run that holds its encoder.</summary>
    public const string RunEncoderFolder = "encoder";

    /// <summary>The settings file <c>skim train</c> writes beside the encoder's weights.</summary>
    public const string SettingsFileName = "skim_encoder.json";

    /// <summary>Resolves <paramref name="encoder"/> to the folder that holds config.json.</summary>
    /// <exception cref="SkimConfigException">Neither the folder nor its <c>encoder/</c> holds a config.json.</exception>
    public static string ResolveDirectory(string encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (File.Exists(Path.Combine(encoder, "config.json")))
        {
            return encoder;
        }
        if (File.Exists(Path.Combine(encoder, RunEncoderFolder, "config.json")))
        {
            return Path.Combine(encoder, RunEncoderFolder);
        }
        throw new SkimConfigException($"encoder '{encoder}': expected a Hugging Face folder with config.json (BERT/DistilBERT, or NGAME's ngame_state_dict.pt beside its config and tokenizer) or a skim train run folder with {RunEncoderFolder}/config.json");
    }

    /// <summary>
    /// Gets the pooling and normalisation to embed with: the options' when set, else the folder's
    /// <see cref="SettingsFileName"/>, else NGAME's mean pooling with L2 normalisation.
    /// </summary>
    /// <exception cref="SkimFormatException">The settings file is not valid JSON of the expected shape.</exception>
    public static (PoolingMode Pooling, bool Normalize) Settings(string directory, PoolingMode? pooling, bool? normalize)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var path = Path.Combine(directory, SettingsFileName);
        PoolingMode? filePooling = null;
        bool? fileNormalize = null;
        if (File.Exists(path) && (pooling is null || normalize is null))
        {
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllText(path));
                var root = document.RootElement;
                if (root.TryGetProperty("pooling", out var p))
                {
                    filePooling = Models.Encoders.Pooling.Parse(p.GetString() ?? "", $"{path}: key 'pooling'");
                }
                if (root.TryGetProperty("normalize", out var n))
                {
                    fileNormalize = n.GetBoolean();
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new SkimFormatException(path, null, $"expected a JSON object with \"pooling\" (mean|cls) and \"normalize\" (true|false): {e.Message}");
            }
        }
        return (pooling ?? filePooling ?? PoolingMode.Mean, normalize ?? fileNormalize ?? true);
    }
}
