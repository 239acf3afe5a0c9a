using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.IO;
using Skim.Models.Llama;
using Skim.Models.Weights;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Skim.Models.Lora;

/// <summary>
/// Adds LoRA adapters to a decoder and handles what fine-tuning needs around them: training only the
/// adapters, merging, and saving either the adapter alone (PEFT's <c>adapter_model.safetensors</c> +
/// <c>adapter_config.json</c>) or a merged plain checkpoint that HF transformers, vLLM and llama.cpp's
/// converter load as an ordinary model.
/// </summary>
public static class LoraModel
{
    /// <summary>The adapter weights file name PEFT writes and reads.</summary>
    public const string AdapterWeightsFileName = "adapter_model.safetensors";

    /// <summary>The adapter config file name PEFT writes and reads.</summary>
    public const string AdapterConfigFileName = "adapter_config.json";

    /// <summary>The prefix PEFT puts before module keys in adapter files (its PeftModel → LoraModel → base model nesting).</summary>
    public const string PeftKeyPrefix = "base_model.model.";

    /// <summary>The tokenizer files copied into a merged checkpoint when present.</summary>
    public static readonly IReadOnlyList<string> TokenizerFileNames =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json"];

    /// <summary>
    /// Replaces every targeted projection of <paramref name="model"/> with a <see cref="LoraLinear"/>
    /// wrapping it, and returns the adapted modules' key prefixes (e.g. <c>model.layers.0.self_attn.q_proj</c>).
    /// </summary>
    /// <exception cref="SkimConfigException">The options are invalid, or lm_head is targeted on a model with tied embeddings.</exception>
    public static IReadOnlyList<string> Apply(LlamaForCausalLM model, LoraOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.TargetModules.Contains("lm_head") && model.Config.TieWordEmbeddings)
        {
            throw new SkimConfigException("lora target modules: lm_head cannot be adapted on a model with tie_word_embeddings (its head is the embedding matrix); drop lm_head from the targets");
        }
        using var generator = new Generator(unchecked((ulong)options.Seed));
        var adapted = new List<string>();
        // Materialise the host list first: replacing children while enumerating named_modules() is unsafe.
        var hosts = model.named_modules().Where(m => m.module is ILoraHost).Select(m => (m.name, host: (ILoraHost)m.module)).ToList();
        if (model is ILoraHost root)
        {
            hosts.Add(("", root));
        }
        foreach (var (prefix, host) in hosts)
        {
            foreach (var name in host.ProjectionNames.Where(options.TargetModules.Contains).ToList())
            {
                host.ReplaceProjection(name, current => current switch
                {
                    Linear linear => new LoraLinear(linear, options, generator),
                    LoraLinear => throw new InvalidOperationException($"{Join(prefix, name)} already has a LoRA adapter"),
                    _ => throw new InvalidOperationException($"{Join(prefix, name)} is a {current.GetType().Name}, not a linear layer"),
                });
                adapted.Add(Join(prefix, name));
            }
        }
        adapted.Sort(StringComparer.Ordinal);
        return adapted;
    }

    /// <summary>Freezes every parameter except the adapters' A and B matrices (litgpt's <c>mark_only_lora_as_trainable</c>, bias "none").</summary>
    /// <returns>The number of trainable parameters left.</returns>
    public static long MarkOnlyLoraAsTrainable(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long trainable = 0;
        foreach (var (name, parameter) in model.named_parameters())
        {
            var isLora = IsLoraKey(name);
            parameter.requires_grad = isLora;
            trainable += isLora ? parameter.numel() : 0;
        }
        return trainable;
    }

    /// <summary>Folds every adapter into its base weight (idempotent).</summary>
    public static void Merge(nn.Module model) => ForEachLora(model, l => l.Merge());

    /// <summary>Takes every adapter back out of its base weight (idempotent).</summary>
    public static void Unmerge(nn.Module model) => ForEachLora(model, l => l.Unmerge());

    /// <summary>Returns the adapter tensors under PEFT's keys (<c>base_model.model.…lora_A.weight</c>), sorted; the tensors are the live parameters.</summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> AdapterStateDict(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return [.. model.state_dict()
            .Where(e => IsLoraKey(e.Key))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => KeyValuePair.Create(PeftKeyPrefix + e.Key, e.Value))];
    }

    /// <summary>
    /// Writes <paramref name="folder"/>/adapter_model.safetensors (only the adapters, PEFT's key names)
    /// and adapter_config.json (PEFT's LoraConfig fields), both atomically.
    /// </summary>
    public static void SaveAdapter(LlamaForCausalLM model, LoraOptions options, string folder, string? baseModelPath = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(folder);
        var adapters = AdapterStateDict(model);
        if (adapters.Count == 0)
        {
            throw new InvalidOperationException("the model has no LoRA adapters to save; call LoraModel.Apply first");
        }
        Directory.CreateDirectory(folder);
        SafeTensorsWriter.Write(Path.Combine(folder, AdapterWeightsFileName), adapters.Select(e => TensorConversion.ToRaw(e.Key, e.Value)), WeightSaver.PyTorchFormat);
        var config = new JsonObject
        {
            ["base_model_name_or_path"] = baseModelPath,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["lora_alpha"] = options.Alpha,
            ["lora_dropout"] = options.Dropout,
            ["modules_to_save"] = null,
            ["peft_type"] = "LORA",
            ["r"] = options.Rank,
            ["target_modules"] = new JsonArray([.. options.TargetModules.Select(t => (JsonNode)t)]),
            ["task_type"] = "CAUSAL_LM",
        };
        AtomicFile.WriteAllText(Path.Combine(folder, AdapterConfigFileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Copies the adapter weights saved by <see cref="SaveAdapter"/> (or by PEFT) into a model that
    /// <see cref="Apply"/> gave the same adapters; every adapter must be present with its shape.
    /// </summary>
    /// <exception cref="SkimFormatException">The file is missing, or its keys or shapes do not fit the model's adapters.</exception>
    public static void LoadAdapter(nn.Module model, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(folder);
        var path = Path.Combine(folder, AdapterWeightsFileName);
        if (!File.Exists(path))
        {
            throw new SkimFormatException(folder, null, $"no {AdapterWeightsFileName} (an adapter folder holds {AdapterWeightsFileName} and {AdapterConfigFileName})");
        }
        using var file = SafeTensorsFile.Open(path);
        // PEFT also writes keys without the ".default" adapter name; both spellings are accepted.
        var stored = file.ToDictionary(
            t => StripPeftPrefix(t.Key).Replace(".default.", ".", StringComparison.Ordinal),
            t => t.Value,
            StringComparer.Ordinal);
        var expected = model.state_dict().Where(e => IsLoraKey(e.Key)).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        if (WeightLoader.Describe(expected, stored, "the model's LoRA adapters") is { } problem)
        {
            throw new SkimFormatException(path, null, problem);
        }
        using var noGrad = no_grad();
        foreach (var (key, target) in expected)
        {
            using var value = TensorConversion.ToTorch(stored[key], target.dtype, target.device);
            target.copy_(value);
        }
    }

    /// <summary>
    /// Writes a plain Hugging Face checkpoint with the adapters folded in: config.json,
    /// model.safetensors with exactly the base model's keys, and the tokenizer files found in
    /// <paramref name="tokenizerFolder"/>. The model itself is left as it was (merged weights are
    /// computed out of place).
    /// </summary>
    /// <param name="model">The adapted model.</param>
    /// <param name="folder">The output folder.</param>
    /// <param name="tokenizerFolder">A folder whose tokenizer files are copied; null copies none.</param>
    /// <param name="dtype">Stores floats in this dtype; null keeps the parameters' dtype.</param>
    public static void SaveMerged(LlamaForCausalLM model, string folder, string? tokenizerFolder = null, TensorDType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(folder);
        using var scope = NewDisposeScope();
        var merged = model.named_modules()
            .Where(m => m.module is LoraLinear)
            .ToDictionary(m => m.name + ".weight", m => ((LoraLinear)m.module).MergedWeight(), StringComparer.Ordinal);
        var tensors = model.state_dict()
            .Where(e => !IsLoraKey(e.Key))
            .Select(e => TensorConversion.ToRaw(e.Key, merged.TryGetValue(e.Key, out var w) ? w : e.Value, dtype is { } d && is_floating_point(e.Value.dtype) ? d : null))
            .ToList();
        Directory.CreateDirectory(folder);
        SafeTensorsWriter.Write(Path.Combine(folder, SafeTensorsIndex.SingleFileName), tensors, WeightSaver.PyTorchFormat);
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), model.Config.ToJson() + "\n");
        if (tokenizerFolder is not null)
        {
            foreach (var name in TokenizerFileNames)
            {
                var source = Path.Combine(tokenizerFolder, name);
                if (File.Exists(source))
                {
                    AtomicFile.Write(Path.Combine(folder, name), s =>
                    {
                        using var input = File.OpenRead(source);
                        input.CopyTo(s);
                    });
                }
            }
        }
    }

    /// <summary>Gets whether a state-dict key belongs to a LoRA adapter.</summary>
    public static bool IsLoraKey(string key) =>
        key.Contains(".lora_A.", StringComparison.Ordinal) || key.Contains(".lora_B.", StringComparison.Ordinal)
        || key.StartsWith("lora_A.", StringComparison.Ordinal) || key.StartsWith("lora_B.", StringComparison.Ordinal);

    private static string StripPeftPrefix(string key) =>
        key.StartsWith(PeftKeyPrefix, StringComparison.Ordinal) ? key[PeftKeyPrefix.Length..] : key;

    private static void ForEachLora(nn.Module model, Action<LoraLinear> action)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var module in model.modules().OfType<LoraLinear>())
        {
            action(module);
        }
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : $"{prefix}.{name}";
}
