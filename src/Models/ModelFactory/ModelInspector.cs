using Skim.Core;
using Skim.Core.Formats.HfConfig;
using Skim.Core.Formats.SafeTensors;
using Skim.Models.Bert;
using Skim.Models.Devices;
using Skim.Models.DistilBert;
using Skim.Models.Encoders;
using Skim.Models.Llama;
using Skim.Models.Tokenization;
using Skim.Models.Weights;

namespace Skim.Models.ModelFactory;

/// <summary>A file of a model folder and its size.</summary>
/// <param name="Name">The file name.</param>
/// <param name="Bytes">Its size in bytes.</param>
public sealed record ModelFileInfo(string Name, long Bytes);

/// <summary>What <c>skim model info</c> reports about a model folder, after checking that it loads.</summary>
public sealed record ModelInfo
{
    /// <summary>Gets the folder.</summary>
    public required string Folder { get; init; }

    /// <summary>Gets config.json's model_type.</summary>
    public required string ModelType { get; init; }

    /// <summary>Gets config.json's first <c>architectures</c> entry, or null when absent.</summary>
    public string? Architecture { get; init; }

    /// <summary>Gets the number of stored values (tied matrices once), as HF model cards count parameters.</summary>
    public long ParameterCount { get; init; }

    /// <summary>Gets the stored dtypes with the number of tensors in each (e.g. "float32" → 22).</summary>
    public required IReadOnlyDictionary<string, int> StoredDTypes { get; init; }

    /// <summary>Gets config.json's vocab_size.</summary>
    public int VocabSize { get; init; }

    /// <summary>Gets the hidden size.</summary>
    public int HiddenSize { get; init; }

    /// <summary>Gets the number of layers.</summary>
    public int Layers { get; init; }

    /// <summary>Gets the tokenizer's algorithm, or null when the folder has no tokenizer files.</summary>
    public TokenizerKind? TokenizerKind { get; init; }

    /// <summary>Gets the number of ids the tokenizer produces, or null without a tokenizer.</summary>
    public int? TokenizerVocabularySize { get; init; }

    /// <summary>Gets the folder's files, by name.</summary>
    public required IReadOnlyList<ModelFileInfo> Files { get; init; }

    /// <summary>
    /// Gets where the strict load ran: "cpu" when the weights were loaded into a model, "meta" when
    /// they were too large and were read and checked against a model on the meta device instead.
    /// </summary>
    public required string LoadedOn { get; init; }
}

/// <summary>Describes a model folder and proves that it loads through the loaders a real checkpoint goes through.</summary>
public static class ModelInspector
{
    /// <summary>Folders whose weights take more bytes than this are checked on the meta device instead of being loaded into memory.</summary>
    public const long CpuLoadLimitBytes = 2L << 30;

    /// <summary>The tokenizer files a model folder may hold (copied by <c>skim model init --tokenizer DIR</c>).</summary>
    public static IReadOnlyList<string> TokenizerFileNames { get; } =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json", "merges.txt", "vocab.txt", "added_tokens.json"];

    /// <summary>
    /// Reads config.json, loads the weights strictly with the same loader a real checkpoint uses
    /// (<see cref="TextEncoder.Load"/> for encoders, <see cref="LlamaForCausalLM.FromPretrained"/> for
    /// decoders), loads the tokenizer when there is one, and checks that its ids fit the embeddings.
    /// </summary>
    /// <exception cref="SkimFormatException">A file is missing or invalid, the weights do not fit, or the tokenizer has more ids than the model's vocabulary.</exception>
    public static ModelInfo Inspect(string folder) => Inspect(folder, CpuLoadLimitBytes);

    /// <summary>As <see cref="Inspect(string)"/>, loading decoders on the CPU only up to <paramref name="cpuLoadLimitBytes"/> of weights.</summary>
    internal static ModelInfo Inspect(string folder, long cpuLoadLimitBytes)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new SkimFormatException(folder, null, "no such model folder");
        }
        var configPath = Path.Combine(folder, "config.json");
        var config = HfConfigFile.Read(configPath);
        var modelType = config.GetStringOrNull("model_type")
            ?? throw new SkimFormatException(configPath, "key 'model_type'", "missing (expected bert, distilbert, llama, mistral or qwen2)");
        var architecture = config.GetStringArray("architectures") is [var first, ..] ? first : null;

        long parameters = 0;
        long storedBytes = 0;
        var dtypes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        using (var weights = WeightFiles.Open(folder))
        {
            foreach (var tensor in weights.Tensors.Values)
            {
                parameters += tensor.Shape.Aggregate(1L, (a, b) => a * b);
                storedBytes += tensor.ByteLength;
                var name = TorchDevices.DTypeName(tensor.DType.ToScalarType());
                dtypes[name] = dtypes.GetValueOrDefault(name) + 1;
            }
        }

        var (vocab, hidden, layers, loadedOn) = modelType switch
        {
            "bert" or "distilbert" => LoadEncoder(folder),
            _ when LlamaConfig.SupportedModelTypes.Contains(modelType) => LoadDecoder(folder, storedBytes > cpuLoadLimitBytes),
            _ => throw new SkimFormatException(configPath, "key 'model_type'", $"unsupported \"{modelType}\" (expected bert, distilbert, {string.Join(", ", LlamaConfig.SupportedModelTypes)})"),
        };

        ITextTokenizer? tokenizer = null;
        if (TokenizerFileNames.Any(n => File.Exists(Path.Combine(folder, n))))
        {
            tokenizer = TokenizerLoader.Load(folder);
            if (tokenizer.VocabularySize > vocab)
            {
                throw new SkimFormatException(folder, null, $"the tokenizer has {tokenizer.VocabularySize} ids but config.json's vocab_size is {vocab}; they belong to different models");
            }
        }

        return new ModelInfo
        {
            Folder = folder,
            ModelType = modelType,
            Architecture = architecture,
            ParameterCount = parameters,
            StoredDTypes = dtypes,
            VocabSize = vocab,
            HiddenSize = hidden,
            Layers = layers,
            TokenizerKind = tokenizer?.Kind,
            TokenizerVocabularySize = tokenizer?.VocabularySize,
            Files = [.. new DirectoryInfo(folder).EnumerateFiles().OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => new ModelFileInfo(f.Name, f.Length))],
            LoadedOn = loadedOn,
        };
    }

    // Encoders are at most a few hundred MB: always loaded for real, on the CPU.
    private static (int Vocab, int Hidden, int Layers, string LoadedOn) LoadEncoder(string folder)
    {
        using var encoder = TextEncoder.Load(folder, new TextEncoderOptions { Device = "cpu" });
        var layers = encoder.Model switch
        {
            BertModel bert => bert.Config.NumHiddenLayers,
            DistilBertModel distil => distil.Config.NLayers,
            _ => 0,
        };
        return (encoder.Model.VocabSize, encoder.Model.HiddenSize, layers, "cpu");
    }

    // The meta device runs the very same loader (every stored tensor is read and converted, shapes
    // and keys are checked strictly) without holding the model, so a 7B checkpoint is checked in a
    // few hundred MB.
    private static (int Vocab, int Hidden, int Layers, string LoadedOn) LoadDecoder(string folder, bool onMeta)
    {
        using var model = LlamaForCausalLM.FromPretrained(folder, device: onMeta ? TorchDevices.Meta : null);
        return (model.Config.VocabSize, model.Config.HiddenSize, model.Config.NumHiddenLayers, onMeta ? "meta" : "cpu");
    }
}
