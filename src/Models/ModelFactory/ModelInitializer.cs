using System.Globalization;
using Skim.Core;
using Skim.Models.Bert;
using Skim.Models.Devices;
using Skim.Models.DistilBert;
using Skim.Models.Llama;
using Skim.Models.Tokenization;
using Skim.Models.Vocabulary;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Models.ModelFactory;

/// <summary>What <see cref="ModelInitializer.Create"/> wrote.</summary>
/// <param name="Info">The written folder as <c>skim model info</c> describes it (it has been loaded back).</param>
/// <param name="Preset">The preset used.</param>
/// <param name="TrainedTokenizer">Whether the vocabulary was built from a corpus (else copied from a folder).</param>
public sealed record ModelInitResult(ModelInfo Info, ModelPreset Preset, bool TrainedTokenizer);

/// <summary>
/// Creates a randomly initialised model in Hugging Face's on-disk form (config.json,
/// model.safetensors, tokenizer files), so that tests and demos go through the same loaders as a
/// real checkpoint. The folder appears complete or not at all.
/// </summary>
public static class ModelInitializer
{
    /// <summary>The vocabulary size trained when none is given.</summary>
    public const int DefaultVocabSize = 1000;

    // Creating and saving holds the model and, while the safetensors file is written, a copy of
    // every tensor: twice the weights' bytes.
    private const int MemoryFactor = 2;

    /// <summary>
    /// Builds the tokenizer (copied or trained), sets config.json's vocab_size and special-token ids
    /// from it, draws the weights with HF's initialisation and <see cref="ModelInitOptions.Seed"/>,
    /// writes everything into a temporary folder beside the output, loads it back through the real
    /// loaders, and renames it into place.
    /// </summary>
    /// <exception cref="SkimConfigException">An option is invalid, the output folder is not empty (without Force), or the model does not fit in memory.</exception>
    /// <exception cref="SkimFormatException">The tokenizer folder or corpus is missing or invalid.</exception>
    public static ModelInitResult Create(ModelInitOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var preset = WithLayers(ModelPresets.Resolve(ModelPresets.ParseArchitecture(options.Architecture), options.Preset), options.Layers);
        var dtype = TorchDevices.ParseDType(options.DType);
        var output = Path.GetFullPath(options.OutputDirectory);
        CheckOutput(output, options.Force);

        // Refuse an impossible size before training a tokenizer or allocating anything.
        var parameters = CountParameters(Configure(preset, EstimateVocabulary(preset, options), null, dtype));
        var bytes = parameters * ElementSize(dtype);
        // Folders up to ModelInspector's CPU limit are loaded back in float32 to prove that they load.
        var needed = bytes * MemoryFactor + (bytes <= ModelInspector.CpuLoadLimitBytes ? parameters * 4 : 0);
        var available = options.MemoryLimitBytes ?? MemoryBudget.Available();
        if (needed > available)
        {
            throw new SkimConfigException(string.Create(CultureInfo.InvariantCulture,
                $"--preset {preset.Name}: {parameters:N0} parameters in {TorchDevices.DTypeName(dtype)} need about {MemoryBudget.Format(needed)} of memory to create and save, but {MemoryBudget.Format(available)} is available; choose a smaller preset, --dtype bfloat16, or a machine with more memory"));
        }

        var parent = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(output)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            var tokenizer = PrepareTokenizer(preset, options, temp);
            cancellationToken.ThrowIfCancellationRequested();
            var configured = Configure(preset, tokenizer.VocabularySize, tokenizer.Special, dtype);
            WriteModel(configured, dtype, options.Seed, temp);
            cancellationToken.ThrowIfCancellationRequested();
            ModelInspector.Inspect(temp);
            MoveIntoPlace(temp, output, options.Force);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        return new ModelInitResult(ModelInspector.Inspect(output), preset, options.TrainsTokenizer);
    }

    private static ModelPreset WithLayers(ModelPreset preset, int? layers) => layers switch
    {
        null => preset,
        { } n when preset.Decoder is { } decoder => preset with { Decoder = decoder with { NumHiddenLayers = n } },
        { } n when preset.Bert is { } bert => preset with { Bert = bert with { NumHiddenLayers = n } },
        { } n => preset with { DistilBert = preset.DistilBert! with { NLayers = n } },
    };

    private static void CheckOutput(string output, bool force)
    {
        if (File.Exists(output))
        {
            throw new SkimConfigException($"--out '{output}': is a file, expected a folder");
        }
        if (!force && Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
        {
            throw new SkimConfigException($"--out '{output}': the folder is not empty; pass --force to replace it");
        }
    }

    // The trained vocabulary's size is only known after training; its target bounds it.
    private static int EstimateVocabulary(ModelPreset preset, ModelInitOptions options) =>
        options.TrainsTokenizer ? options.VocabSize ?? DefaultVocabSize : Math.Max(1, Configure(preset, null, null, null).VocabSize);

    private static ITextTokenizer PrepareTokenizer(ModelPreset preset, ModelInitOptions options, string folder)
    {
        if (options.TrainsTokenizer)
        {
            var corpus = options.Tokenizer[ModelInitOptions.TrainPrefix.Length..];
            var vocabularyOptions = new VocabularyOptions { VocabSize = options.VocabSize ?? DefaultVocabSize };
            if (preset.IsDecoder)
            {
                var specials = preset.Architecture == ModelArchitecture.Qwen2 ? DecoderSpecialTokens.Qwen2 : DecoderSpecialTokens.Llama;
                ByteLevelBpeVocabularyBuilder.BuildFromFile(corpus, specials, vocabularyOptions).WriteTo(folder, preset.MaxPositions);
            }
            else
            {
                WordPieceVocabularyBuilder.BuildFromFile(corpus, vocabularyOptions).WriteTo(folder, preset.MaxPositions);
            }
        }
        else
        {
            // Loading first proves the folder holds a tokenizer before anything is copied.
            TokenizerLoader.Load(options.Tokenizer);
            foreach (var name in ModelInspector.TokenizerFileNames)
            {
                var source = Path.Combine(options.Tokenizer, name);
                if (File.Exists(source))
                {
                    File.Copy(source, Path.Combine(folder, name));
                }
            }
        }
        return TokenizerLoader.Load(folder);
    }

    /// <summary>The preset's config with the tokenizer's vocabulary size and special-token ids (null keeps the preset's).</summary>
    private static ConfiguredModel Configure(ModelPreset preset, int? vocabSize, SpecialTokenIds? special, ScalarType? dtype)
    {
        var dtypeName = dtype is { } d ? TorchDevices.DTypeName(d) : null;
        if (preset.Decoder is { } decoder)
        {
            var config = decoder with
            {
                VocabSize = vocabSize ?? decoder.VocabSize,
                BosTokenId = special is null ? decoder.BosTokenId : special.Bos,
                EosTokenIds = special is null ? decoder.EosTokenIds : special.Eos is { } eos ? [eos] : [],
                PadTokenId = special is null ? decoder.PadTokenId : special.Pad,
                TorchDtype = dtypeName,
            };
            return new ConfiguredModel(config.VocabSize, config.InitializerRange, "model.embed_tokens.weight", config.PadTokenId, config,
                device => new LlamaForCausalLM(config, device, dtype));
        }
        if (preset.Bert is { } bertPreset)
        {
            var config = bertPreset with
            {
                VocabSize = vocabSize ?? bertPreset.VocabSize,
                PadTokenId = special is null ? bertPreset.PadTokenId : special.Pad ?? 0,
                TorchDtype = dtypeName,
                Architectures = ["BertModel"],
            };
            return new ConfiguredModel(config.VocabSize, 0.02, "embeddings.word_embeddings.weight", config.PadTokenId, config,
                device => new BertModel(config, addPoolingLayer: true, device, dtype));
        }
        var distilPreset = preset.DistilBert!;
        var distil = distilPreset with
        {
            VocabSize = vocabSize ?? distilPreset.VocabSize,
            PadTokenId = special is null ? distilPreset.PadTokenId : special.Pad ?? 0,
            TorchDtype = dtypeName,
            Architectures = ["DistilBertModel"],
        };
        return new ConfiguredModel(distil.VocabSize, 0.02, "embeddings.word_embeddings.weight", distil.PadTokenId, distil,
            device => new DistilBertModel(distil, device, dtype));
    }

    private static long CountParameters(ConfiguredModel model)
    {
        using var shapes = model.Build(TorchDevices.Meta);
        return shapes.parameters().Sum(p => p.numel());
    }

    private static void WriteModel(ConfiguredModel model, ScalarType dtype, long seed, string folder)
    {
        using var module = model.Build(null);
        HfInitialization.Apply(module, model.InitializerRange, seed, model.EmbeddingKey, model.PaddingId);
        WeightSaver.SavePretrained(module, model.Config, folder, dtype.ToTensorDType());
    }

    private static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Float64 => 8,
        _ => 4,
    };

    private static void MoveIntoPlace(string temp, string output, bool force)
    {
        string? old = null;
        if (Directory.Exists(output))
        {
            if (Directory.EnumerateFileSystemEntries(output).Any())
            {
                if (!force)
                {
                    throw new SkimConfigException($"--out '{output}': the folder is not empty; pass --force to replace it");
                }
                // Moved aside rather than deleted first, so a failed rename leaves the old model intact.
                old = temp + ".old";
                Directory.Move(output, old);
            }
            else
            {
                Directory.Delete(output);
            }
        }
        try
        {
            Directory.Move(temp, output);
        }
        catch
        {
            if (old is not null)
            {
                Directory.Move(old, output);
            }
            throw;
        }
        if (old is not null)
        {
            TryDelete(old);
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
            // Leftover temporary folders are hidden (dot-named) and harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }

    private sealed record ConfiguredModel(int VocabSize, double InitializerRange, string EmbeddingKey, int? PaddingId, object Config, Func<Device?, nn.Module> Build);
}
