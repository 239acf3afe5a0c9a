using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using LLama;
using LLama.Native;
using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.IO;
using Skim.Core.Manifests;
using Skim.Generate.Backends;
using Skim.Models.Llama;
using Skim.Models.ModelFactory;
using Skim.Models.Weights;

namespace Skim.Generate.Gguf;

/// <summary>What <see cref="GgufExport"/> produced.</summary>
/// <param name="Path">The GGUF file.</param>
/// <param name="Type">Its weight type.</param>
/// <param name="CheckpointHash">The hash of the checkpoint it was exported from (<see cref="GgufExport.CheckpointHash"/>).</param>
/// <param name="FromCache">Whether an earlier export was reused.</param>
/// <param name="Bytes">The file's size.</param>
public sealed record GgufExportResult(string Path, GgufType Type, string CheckpointHash, bool FromCache, long Bytes);

/// <summary>
/// Exports a Hugging Face Llama, Mistral or Qwen2 checkpoint (config.json, weights, tokenizer files)
/// as a GGUF version 3 file for llama.cpp: llama.cpp's metadata keys and tensor names, its rotary
/// layout, the tokenizer, and f32/f16 data written here or q8_0/q4_0/q4_k_m made from them by
/// llama.cpp's own quantizer (through LLamaSharp).
/// </summary>
/// <remarks>
/// Rotary layout: HF's Llama rotates the two halves of each head (<c>rotate_half</c>), while
/// llama.cpp's "llama" architecture rotates adjacent pairs. convert_hf_to_gguf.py therefore reorders
/// the rows of q_proj and k_proj (weights and biases) within each head so that row 2i takes HF row i
/// and row 2i+1 takes HF row i + head_dim/2; k_proj uses the key-value head count. llama.cpp's
/// "qwen2" architecture rotates halves like HF, so Qwen2 is written unchanged. Mistral is written as
/// "llama", as llama.cpp's converter does; its sliding window is not recorded (llama.cpp's llama
/// architecture has none), which changes nothing for sequences no longer than the window.
/// </remarks>
public static class GgufExport
{
    /// <summary>The folder, inside the checkpoint folder, that holds cached exports.</summary>
    public const string CacheFolderName = "gguf";

    // Part of the cache key: bump when the writer's output for the same checkpoint changes.
    private const int WriterVersion = 1;

    private static readonly string[] s_supported = ["llama", "mistral", "qwen2"];

    /// <summary>
    /// Writes <paramref name="modelDirectory"/> as a GGUF file of <paramref name="type"/> at
    /// <paramref name="outputPath"/>, atomically (a failed export leaves no file).
    /// </summary>
    /// <exception cref="SkimFormatException">The architecture is not supported (named), the model has no tokenizer, or a file is invalid.</exception>
    /// <exception cref="SkimConfigException">The model's widths do not fit the quantized type's blocks.</exception>
    public static GgufExportResult Export(string modelDirectory, string outputPath, GgufType type, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        ArgumentNullException.ThrowIfNull(outputPath);
        var hash = CheckpointHash(modelDirectory);
        WriteFile(modelDirectory, Path.GetFullPath(outputPath), type, ct);
        return new GgufExportResult(Path.GetFullPath(outputPath), type, hash, false, new FileInfo(outputPath).Length);
    }

    /// <summary>
    /// Returns the export of <paramref name="modelDirectory"/> as <paramref name="type"/>, writing it
    /// only when no export of the same checkpoint contents exists: the file is
    /// <c>&lt;cache&gt;/&lt;hash&gt;-&lt;type&gt;.gguf</c>, the cache folder being
    /// <paramref name="cacheDirectory"/> or <c>&lt;modelDirectory&gt;/gguf</c>.
    /// </summary>
    /// <exception cref="SkimFormatException">As <see cref="Export"/>.</exception>
    public static GgufExportResult ExportCached(string modelDirectory, GgufType type, string? cacheDirectory = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        var hash = CheckpointHash(modelDirectory);
        var folder = cacheDirectory ?? Path.Combine(modelDirectory, CacheFolderName);
        var path = Path.GetFullPath(Path.Combine(folder, $"{hash}-{type.Name()}.gguf"));
        if (File.Exists(path))
        {
            return new GgufExportResult(path, type, hash, true, new FileInfo(path).Length);
        }
        WriteFile(modelDirectory, path, type, ct);
        return new GgufExportResult(path, type, hash, false, new FileInfo(path).Length);
    }

    /// <summary>
    /// Hashes what an export depends on: config.json, the weight files and the tokenizer files of
    /// <paramref name="modelDirectory"/> (names and contents, XxHash128), and the writer's version.
    /// </summary>
    /// <exception cref="SkimFormatException">The folder or its config.json does not exist.</exception>
    public static string CheckpointHash(string modelDirectory)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        if (!File.Exists(Path.Combine(modelDirectory, "config.json")))
        {
            throw new SkimFormatException(modelDirectory, null, "not a model folder (no config.json)");
        }
        var names = new HashSet<string>(ModelInspector.TokenizerFileNames, StringComparer.Ordinal) { "config.json", WeightFiles.PyTorchFileName };
        var files = Directory.EnumerateFiles(modelDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => names.Contains(n) || n.EndsWith(".safetensors", StringComparison.Ordinal) || n.EndsWith(".safetensors.index.json", StringComparison.Ordinal)
                || n.EndsWith(".pt", StringComparison.Ordinal) || n.EndsWith(".pth", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        var hash = new XxHash128();
        hash.Append(Encoding.UTF8.GetBytes($"skim-gguf-{WriterVersion}\n"));
        foreach (var name in files)
        {
            hash.Append(Encoding.UTF8.GetBytes($"{name}\t{RunManifest.Hash(Path.Combine(modelDirectory, name))}\n"));
        }
        // 16 hex digits keep file names short; 64 bits are plenty to tell one folder's versions apart.
        return Convert.ToHexStringLower(hash.GetCurrentHash())[..16];
    }

    private static void WriteFile(string modelDirectory, string outputPath, GgufType type, CancellationToken ct)
    {
        var configPath = Path.Combine(modelDirectory, "config.json");
        var config = ReadConfig(configPath);
        var vocabulary = GgufVocabulary.Read(modelDirectory, config.VocabSize);
        using var weights = WeightFiles.Open(modelDirectory);
        if (!type.IsQuantized())
        {
            WriteFloat(config, vocabulary, weights, modelDirectory, outputPath, type, ct);
            return;
        }
        CheckBlockSize(config, type, modelDirectory);
        // The quantizer reads a float GGUF; float16 sources stay float16, others go through float32 (exact).
        var floatType = weights.Tensors.Values.All(t => t.DType == TensorDType.Float16) ? GgufType.F16 : GgufType.F32;
        var folder = Path.GetDirectoryName(outputPath)!;
        Directory.CreateDirectory(folder);
        var source = Path.Combine(folder, $".{Path.GetFileName(outputPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.{floatType.Name()}.tmp");
        var quantized = Path.Combine(folder, $".{Path.GetFileName(outputPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            WriteFloat(config, vocabulary, weights, modelDirectory, source, floatType, ct);
            ct.ThrowIfCancellationRequested();
            LlamaSharpLogging.EnsureInstalled();
            var ftype = type switch
            {
                GgufType.Q8_0 => LLamaFtype.MOSTLY_Q8_0,
                GgufType.Q4_0 => LLamaFtype.MOSTLY_Q4_0,
                _ => LLamaFtype.MOSTLY_Q4_K_M,
            };
            if (!LLamaQuantizer.Quantize(source, quantized, ftype, Math.Max(1, Environment.ProcessorCount), allowRequantize: false, quantizeOutputTensor: false))
            {
                throw new SkimException($"llama.cpp could not quantize {modelDirectory} to {type.Name()}");
            }
            File.Move(quantized, outputPath, overwrite: true);
        }
        finally
        {
            File.Delete(source);
            File.Delete(quantized);
        }
    }

    // q8_0 and q4_0 store rows in blocks of 32 with no fallback type: llama.cpp's quantizer would fail
    // with a bare "false". (The k-quants fall back to other types for rows that are not multiples of 256.)
    private static void CheckBlockSize(LlamaConfig config, GgufType type, string source)
    {
        if (type is not (GgufType.Q8_0 or GgufType.Q4_0))
        {
            return;
        }
        foreach (var (name, width) in new[] { ("hidden_size", config.HiddenSize), ("intermediate_size", config.IntermediateSize) })
        {
            if (width % 32 != 0)
            {
                throw new SkimConfigException(string.Create(CultureInfo.InvariantCulture,
                    $"--type {type.Name()}: {source} has {name} {width}, but {type.Name()} needs row lengths that are multiples of 32; use f16, f32 or q4_k_m"));
            }
        }
    }

    private static LlamaConfig ReadConfig(string configPath)
    {
        if (!File.Exists(configPath))
        {
            throw new SkimFormatException(configPath, null, "not found; a GGUF export needs the checkpoint's config.json");
        }
        string? modelType;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(configPath));
            modelType = document.RootElement.TryGetProperty("model_type", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(configPath, null, $"not valid JSON: {e.Message}");
        }
        if (modelType is null || !s_supported.Contains(modelType))
        {
            throw new SkimFormatException(configPath, "key 'model_type'", $"GGUF export does not support architecture '{modelType ?? "(none)"}' (supported: {string.Join(", ", s_supported)})");
        }
        var config = LlamaConfig.Read(configPath);
        if (config.RopeScaling is { ValueKind: not JsonValueKind.Null })
        {
            throw new SkimFormatException(configPath, "key 'rope_scaling'", "GGUF export does not support rope scaling yet");
        }
        if (config.HiddenAct != "silu")
        {
            throw new SkimFormatException(configPath, "key 'hidden_act'", $"GGUF export supports silu only, found '{config.HiddenAct}'");
        }
        if (config.MlpBias)
        {
            throw new SkimFormatException(configPath, "key 'mlp_bias'", "GGUF export does not support MLP biases");
        }
        return config;
    }

    private static void WriteFloat(LlamaConfig config, GgufVocabulary vocabulary, OpenedWeights weights, string modelDirectory, string outputPath, GgufType type, CancellationToken ct)
    {
        var arch = config.ModelType == "qwen2" ? "qwen2" : "llama";
        var metadata = Metadata(config, vocabulary, arch, type, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDirectory))));
        var tensors = Tensors(config, weights.Tensors, arch == "llama", type, modelDirectory);
        using var stream = AtomicFileStream.Create(outputPath);
        GgufFileWriter.Write(stream, metadata, tensors, ct);
        stream.Commit();
    }

    private static List<GgufMetadataEntry> Metadata(LlamaConfig config, GgufVocabulary vocabulary, string arch, GgufType type, string name)
    {
        var m = new List<GgufMetadataEntry>();
        void Add(string key, GgufValueType valueType, object value) => m.Add(new GgufMetadataEntry(key, valueType, value));
        void Array<T>(string key, GgufValueType elementType, IEnumerable<T> values) => m.Add(new GgufMetadataEntry(key, GgufValueType.Array, values, elementType));
        Add("general.architecture", GgufValueType.String, arch);
        Add("general.name", GgufValueType.String, name);
        // llama_ftype: 0 = all float32, 1 = mostly float16.
        Add("general.file_type", GgufValueType.UInt32, type == GgufType.F16 ? 1u : 0u);
        Add($"{arch}.context_length", GgufValueType.UInt32, (uint)config.MaxPositionEmbeddings);
        Add($"{arch}.embedding_length", GgufValueType.UInt32, (uint)config.HiddenSize);
        Add($"{arch}.block_count", GgufValueType.UInt32, (uint)config.NumHiddenLayers);
        Add($"{arch}.feed_forward_length", GgufValueType.UInt32, (uint)config.IntermediateSize);
        Add($"{arch}.attention.head_count", GgufValueType.UInt32, (uint)config.NumAttentionHeads);
        Add($"{arch}.attention.head_count_kv", GgufValueType.UInt32, (uint)config.KeyValueHeads);
        Add($"{arch}.attention.key_length", GgufValueType.UInt32, (uint)config.HeadDim);
        Add($"{arch}.attention.value_length", GgufValueType.UInt32, (uint)config.HeadDim);
        Add($"{arch}.rope.dimension_count", GgufValueType.UInt32, (uint)config.HeadDim);
        Add($"{arch}.rope.freq_base", GgufValueType.Float32, (float)config.RopeTheta);
        Add($"{arch}.attention.layer_norm_rms_epsilon", GgufValueType.Float32, (float)config.RmsNormEps);
        Add($"{arch}.vocab_size", GgufValueType.UInt32, (uint)vocabulary.Tokens.Count);

        Add("tokenizer.ggml.model", GgufValueType.String, vocabulary.Model);
        if (vocabulary.PreTokenizer is { } pre)
        {
            Add("tokenizer.ggml.pre", GgufValueType.String, pre);
        }
        Array("tokenizer.ggml.tokens", GgufValueType.String, vocabulary.Tokens);
        Array("tokenizer.ggml.token_type", GgufValueType.Int32, vocabulary.TokenTypes);
        if (vocabulary.Scores is { } scores)
        {
            Array("tokenizer.ggml.scores", GgufValueType.Float32, scores);
        }
        if (vocabulary.Merges is { } merges)
        {
            Array("tokenizer.ggml.merges", GgufValueType.String, merges);
        }
        void Id(string key, int? id)
        {
            if (id is { } value)
            {
                Add(key, GgufValueType.UInt32, (uint)value);
            }
        }
        Id("tokenizer.ggml.bos_token_id", vocabulary.Bos ?? config.BosTokenId);
        Id("tokenizer.ggml.eos_token_id", vocabulary.Eos ?? (config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : null));
        Id("tokenizer.ggml.padding_token_id", vocabulary.Pad ?? config.PadTokenId);
        Id("tokenizer.ggml.unknown_token_id", vocabulary.Unk);
        Add("tokenizer.ggml.add_bos_token", GgufValueType.Bool, vocabulary.AddBos);
        Add("tokenizer.ggml.add_eos_token", GgufValueType.Bool, vocabulary.AddEos);
        if (vocabulary.AddSpacePrefix is { } addSpacePrefix)
        {
            Add("tokenizer.ggml.add_space_prefix", GgufValueType.Bool, addSpacePrefix);
        }
        if (vocabulary.RemoveExtraWhitespaces is { } remove)
        {
            Add("tokenizer.ggml.remove_extra_whitespaces", GgufValueType.Bool, remove);
        }
        return m;
    }

    private static List<GgufTensorEntry> Tensors(LlamaConfig config, IReadOnlyDictionary<string, RawTensor> stored, bool permuteRotary, GgufType type, string source)
    {
        var tensors = new List<GgufTensorEntry>();
        var unknown = new List<string>();
        foreach (var (key, tensor) in stored.OrderBy(e => SortKey(e.Key), StringComparer.Ordinal))
        {
            if (key.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal) || (config.TieWordEmbeddings && key == "lm_head.weight"))
            {
                // Recomputed from rope_theta / shared with the embeddings: llama.cpp needs neither.
                continue;
            }
            var name = TensorName(key);
            if (name is null)
            {
                unknown.Add(key);
                continue;
            }
            int? heads = !permuteRotary ? null
                : key.EndsWith("self_attn.q_proj.weight", StringComparison.Ordinal) || key.EndsWith("self_attn.q_proj.bias", StringComparison.Ordinal) ? config.NumAttentionHeads
                : key.EndsWith("self_attn.k_proj.weight", StringComparison.Ordinal) || key.EndsWith("self_attn.k_proj.bias", StringComparison.Ordinal) ? config.KeyValueHeads
                : null;
            // Matrices go to float16 in an f16 file; norms and biases stay float32, as llama.cpp's converter does.
            var ggml = type == GgufType.F16 && tensor.Shape.Count >= 2 ? GgmlType.F16 : GgmlType.F32;
            var dims = tensor.Shape.Reverse().ToArray();
            var bytes = tensor.ElementCount * (ggml == GgmlType.F16 ? 2 : 4);
            tensors.Add(new GgufTensorEntry(name, dims, ggml, bytes, stream => WriteTensor(stream, tensor, heads, ggml)));
        }
        if (unknown.Count > 0)
        {
            throw new SkimFormatException(source, null, $"GGUF export does not know where {unknown.Count} tensor(s) go: {string.Join(", ", unknown.Take(5))}");
        }
        return tensors;
    }

    // Embeddings first, then the blocks in numeric order, then the head: the order llama.cpp's converter writes.
    private static string SortKey(string key)
    {
        var parts = key.Split('.');
        return parts.Length > 2 && parts[1] == "layers" && int.TryParse(parts[2], CultureInfo.InvariantCulture, out var layer)
            ? $"1.{layer:D6}.{string.Join('.', parts[3..])}"
            : key.StartsWith("model.embed_tokens", StringComparison.Ordinal) ? $"0.{key}" : $"2.{key}";
    }

    /// <summary>Maps an HF key to llama.cpp's tensor name, or null when it has none.</summary>
    internal static string? TensorName(string key)
    {
        switch (key)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
            default: break;
        }
        var parts = key.Split('.');
        if (parts.Length < 5 || parts[0] != "model" || parts[1] != "layers" || !int.TryParse(parts[2], CultureInfo.InvariantCulture, out var layer))
        {
            return null;
        }
        var rest = string.Join('.', parts[3..^1]);
        var suffix = parts[^1];
        var name = rest switch
        {
            "input_layernorm" => "attn_norm",
            "post_attention_layernorm" => "ffn_norm",
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            _ => null,
        };
        return name is null || suffix is not ("weight" or "bias") ? null : string.Create(CultureInfo.InvariantCulture, $"blk.{layer}.{name}.{suffix}");
    }

    private static void WriteTensor(Stream stream, RawTensor tensor, int? rotaryHeads, GgmlType type)
    {
        var values = tensor.ToFloat32Array();
        if (rotaryHeads is { } heads)
        {
            values = PermuteRotary(values, tensor.Shape[0], tensor.ElementCount / tensor.Shape[0], heads);
        }
        if (type == GgmlType.F32)
        {
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            return;
        }
        var bytes = new byte[values.LongLength * 2];
        FloatConversions.FromFloat32(values, TensorDType.Float16, bytes);
        stream.Write(bytes);
    }

    /// <summary>
    /// Reorders the rows of a q/k projection ([heads·head_dim, columns], row-major) from HF's
    /// half-split rotary layout to llama.cpp's interleaved one: within each head, row 2i + j takes HF
    /// row j·head_dim/2 + i (j ∈ {0, 1}).
    /// </summary>
    internal static float[] PermuteRotary(float[] values, long rows, long columns, int heads)
    {
        var headDim = rows / heads;
        var half = headDim / 2;
        var result = new float[values.LongLength];
        for (long h = 0; h < heads; h++)
        {
            for (long i = 0; i < half; i++)
            {
                for (long j = 0; j < 2; j++)
                {
                    var to = (h * headDim + i * 2 + j) * columns;
                    var from = (h * headDim + j * half + i) * columns;
                    Array.Copy(values, from, result, to, columns);
                }
            }
        }
        return result;
    }
}
