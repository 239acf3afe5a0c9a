using Skim.Core.Formats.HfConfig;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.IO;
using static TorchSharp.torch;

namespace Skim.Models.Weights;

/// <summary>Writes a module's weights as safetensors (and a config.json beside them) in Hugging Face's checkpoint layout.</summary>
public static class WeightSaver
{
    /// <summary>The metadata HF's <c>save_pretrained</c> writes into model.safetensors, which some loaders check.</summary>
    public static IReadOnlyDictionary<string, string> PyTorchFormat { get; } = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>Writes every state-dict tensor of <paramref name="module"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="module">The module; its state-dict keys become the tensor names.</param>
    /// <param name="path">The .safetensors file to write.</param>
    /// <param name="dtype">Stores floating-point tensors in this dtype (integer tensors keep theirs); null keeps each tensor's dtype.</param>
    public static void SaveSafeTensors(nn.Module module, string path, TensorDType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        var tensors = module.state_dict()
            .Select(e => TensorConversion.ToRaw(e.Key, e.Value, dtype is { } d && is_floating_point(e.Value.dtype) ? d : null))
            .ToList();
        SafeTensorsWriter.Write(path, tensors, PyTorchFormat);
    }

    /// <summary>
    /// Writes <paramref name="folder"/>/config.json (the config record serialised with its JSON names)
    /// and <paramref name="folder"/>/model.safetensors: a checkpoint folder that Skim's and HF's loaders open.
    /// </summary>
    /// <typeparam name="TConfig">A config record with <c>[JsonPropertyName]</c> properties.</typeparam>
    public static void SavePretrained<TConfig>(nn.Module module, TConfig config, string folder, TensorDType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder);
        SaveSafeTensors(module, Path.Combine(folder, SafeTensorsIndex.SingleFileName), dtype);
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), HfConfigFile.Serialize(config) + "\n");
    }
}
