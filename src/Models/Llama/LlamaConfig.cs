using System.Text.Json;
using System.Text.Json.Serialization;
using Skim.Core;
using Skim.Core.Formats.HfConfig;

namespace Skim.Models.Llama;

/// <summary>
/// Mirrors transformers' <c>LlamaConfig</c> (and the Mistral, Qwen2 and SmolLM configs, which share its
/// keys) as read from config.json. Defaults are HF's <c>LlamaConfig</c> defaults, so a config.json that
/// omits a key means what it means to HF. Options the decoder does not implement (rope_scaling, an
/// enforced sliding window, quantization) are refused by name instead of being silently ignored.
/// </summary>
public sealed record LlamaConfig
{
    /// <summary>The model types this decoder runs: Llama (Llama-2/3, SmolLM), Mistral and Qwen2.</summary>
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["llama", "mistral", "qwen2"];

    // ---- General size parameters ----

    /// <summary>Gets the model type: "llama", "mistral" or "qwen2". Defaults to "llama".</summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "llama";

    /// <summary>Gets the vocabulary size (rows of embed_tokens and lm_head). Defaults to 32000.</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; } = 32000;

    /// <summary>Gets the residual stream width. Defaults to 4096.</summary>
    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; init; } = 4096;

    /// <summary>Gets the SwiGLU inner width. Defaults to 11008.</summary>
    [JsonPropertyName("intermediate_size")]
    public int IntermediateSize { get; init; } = 11008;

    /// <summary>Gets the number of decoder layers. Defaults to 32.</summary>
    [JsonPropertyName("num_hidden_layers")]
    public int NumHiddenLayers { get; init; } = 32;

    // ---- Attention ----
    //
    // Query heads share key/value heads in groups (grouped-query attention):
    //   MHA: num_key_value_heads == num_attention_heads   q q q q / k k k k
    //   GQA: 1 < num_key_value_heads < num_attention_heads q q q q / k   k
    //   MQA: num_key_value_heads == 1                     q q q q / k

    /// <summary>Gets the number of query heads. Defaults to 32.</summary>
    [JsonPropertyName("num_attention_heads")]
    public int NumAttentionHeads { get; init; } = 32;

    /// <summary>Gets the number of key/value heads; null means one per query head (HF's rule). Defaults to null.</summary>
    [JsonPropertyName("num_key_value_heads")]
    public int? NumKeyValueHeads { get; init; }

    /// <summary>Gets the width of one head; null means hidden_size / num_attention_heads. Defaults to null.</summary>
    [JsonPropertyName("head_dim")]
    public int? HeadDimOverride { get; init; }

    /// <summary>Gets whether q/k/v/o projections have biases (Llama's flag; Qwen2 always has q/k/v biases). Defaults to false.</summary>
    [JsonPropertyName("attention_bias")]
    public bool AttentionBias { get; init; }

    /// <summary>Gets the rotary base θ (10000 for Llama-2, 500000 for Llama-3, 1e6 for Qwen2). Defaults to 10000.</summary>
    [JsonPropertyName("rope_theta")]
    public double RopeTheta { get; init; } = 10000;

    /// <summary>Gets the rotary scaling options; any non-null value is refused (not implemented). Defaults to null.</summary>
    [JsonPropertyName("rope_scaling")]
    public JsonElement? RopeScaling { get; init; }

    /// <summary>Gets the Mistral/Qwen2 sliding attention window; sequences longer than it are refused. Defaults to null.</summary>
    [JsonPropertyName("sliding_window")]
    public int? SlidingWindow { get; init; }

    /// <summary>Gets Qwen2's switch that enables <see cref="SlidingWindow"/>; true is refused. Defaults to false.</summary>
    [JsonPropertyName("use_sliding_window")]
    public bool UseSlidingWindow { get; init; }

    /// <summary>Gets the dropout on attention probabilities (training only; must be 0 here). Defaults to 0.</summary>
    [JsonPropertyName("attention_dropout")]
    public double AttentionDropout { get; init; }

    // ---- MLP and norms ----

    /// <summary>Gets the MLP activation; only "silu" (SwiGLU) is supported. Defaults to "silu".</summary>
    [JsonPropertyName("hidden_act")]
    public string HiddenAct { get; init; } = "silu";

    /// <summary>Gets whether the gate/up/down projections have biases (Llama's flag). Defaults to false.</summary>
    [JsonPropertyName("mlp_bias")]
    public bool MlpBias { get; init; }

    /// <summary>Gets the RMSNorm epsilon. Defaults to 1e-6.</summary>
    [JsonPropertyName("rms_norm_eps")]
    public double RmsNormEps { get; init; } = 1e-6;

    // ---- Embeddings, positions and special tokens ----

    /// <summary>Gets the context length the model was trained for (informational; not enforced, as in HF). Defaults to 2048.</summary>
    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary>Gets whether lm_head shares embed_tokens' weight (SmolLM, Qwen2-0.5B, Llama-3.2). Defaults to false.</summary>
    [JsonPropertyName("tie_word_embeddings")]
    public bool TieWordEmbeddings { get; init; }

    /// <summary>Gets the standard deviation of the normal initialisation of new weights. Defaults to 0.02.</summary>
    [JsonPropertyName("initializer_range")]
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>Gets the beginning-of-sequence id. Defaults to null.</summary>
    [JsonPropertyName("bos_token_id")]
    public int? BosTokenId { get; init; }

    /// <summary>Gets the end-of-sequence ids (config.json holds one id or a list, as Llama-3 does). Defaults to none.</summary>
    [JsonPropertyName("eos_token_id")]
    [JsonConverter(typeof(TokenIdListConverter))]
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>Gets the padding id. Defaults to null.</summary>
    [JsonPropertyName("pad_token_id")]
    public int? PadTokenId { get; init; }

    /// <summary>Gets quantisation options; any non-null value is refused (only dense weights are loaded). Defaults to null.</summary>
    [JsonPropertyName("quantization_config")]
    public JsonElement? QuantizationConfig { get; init; }

    /// <summary>Gets the HF class names the checkpoint was saved from (informational). Defaults to null.</summary>
    [JsonPropertyName("architectures")]
    public IReadOnlyList<string>? Architectures { get; init; }

    /// <summary>Gets the dtype the checkpoint was saved in (informational). Defaults to null.</summary>
    [JsonPropertyName("torch_dtype")]
    public string? TorchDtype { get; init; }

    // ---- Derived values ----

    /// <summary>Gets the number of key/value heads after HF's default rule.</summary>
    [JsonIgnore]
    public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;

    /// <summary>Gets the width of one attention head.</summary>
    [JsonIgnore]
    public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;

    /// <summary>Gets whether q_proj, k_proj and v_proj have biases (always for Qwen2).</summary>
    [JsonIgnore]
    public bool QkvBias => ModelType == "qwen2" || AttentionBias;

    /// <summary>Gets whether o_proj has a bias (Llama with attention_bias; never Qwen2 or Mistral).</summary>
    [JsonIgnore]
    public bool OutputBias => ModelType == "llama" && AttentionBias;

    /// <summary>Gets the length above which the configured sliding window would change attention, or null.</summary>
    [JsonIgnore]
    public int? EnforcedWindow => ModelType switch
    {
        "mistral" => SlidingWindow,
        "qwen2" when UseSlidingWindow => SlidingWindow,
        _ => null,
    };

    // ---- Presets ----

    /// <summary>Gets a 2-layer, hidden-32 GQA model for tests (vocab 128, 4 query heads, 2 kv heads, 37-wide MLP to catch size mix-ups).</summary>
    public static LlamaConfig Tiny { get; } = new()
    {
        ModelType = "llama",
        VocabSize = 128,
        HiddenSize = 32,
        IntermediateSize = 37,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        RmsNormEps = 1e-5,
        MaxPositionEmbeddings = 256,
        BosTokenId = 1,
        EosTokenIds = [2],
        Architectures = ["LlamaForCausalLM"],
    };

    /// <summary>Gets the shape of HuggingFaceTB/SmolLM-135M (Llama architecture, tied embeddings, GQA 9/3).</summary>
    public static LlamaConfig SmolLM135M { get; } = new()
    {
        ModelType = "llama",
        VocabSize = 49152,
        HiddenSize = 576,
        IntermediateSize = 1536,
        NumHiddenLayers = 30,
        NumAttentionHeads = 9,
        NumKeyValueHeads = 3,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        MaxPositionEmbeddings = 2048,
        TieWordEmbeddings = true,
        BosTokenId = 0,
        EosTokenIds = [0],
        Architectures = ["LlamaForCausalLM"],
    };

    /// <summary>Gets the shape of Qwen/Qwen2-0.5B (q/k/v biases, tied embeddings, GQA 14/2, θ = 1e6).</summary>
    public static LlamaConfig Qwen2_0_5B { get; } = new()
    {
        ModelType = "qwen2",
        VocabSize = 151936,
        HiddenSize = 896,
        IntermediateSize = 4864,
        NumHiddenLayers = 24,
        NumAttentionHeads = 14,
        NumKeyValueHeads = 2,
        RmsNormEps = 1e-6,
        RopeTheta = 1000000,
        MaxPositionEmbeddings = 131072,
        SlidingWindow = 131072,
        TieWordEmbeddings = true,
        BosTokenId = 151643,
        EosTokenIds = [151643],
        Architectures = ["Qwen2ForCausalLM"],
    };

    /// <summary>Gets the shape of meta-llama/Llama-2-7b-hf (multi-head attention, separate lm_head).</summary>
    public static LlamaConfig Llama2_7B { get; } = new()
    {
        ModelType = "llama",
        VocabSize = 32000,
        HiddenSize = 4096,
        IntermediateSize = 11008,
        NumHiddenLayers = 32,
        NumAttentionHeads = 32,
        NumKeyValueHeads = 32,
        RmsNormEps = 1e-5,
        MaxPositionEmbeddings = 4096,
        BosTokenId = 1,
        EosTokenIds = [2],
        Architectures = ["LlamaForCausalLM"],
    };

    /// <summary>Reads and validates a config.json whose model_type is llama, mistral or qwen2.</summary>
    /// <exception cref="SkimFormatException">The file is missing, not JSON, or holds an invalid or unsupported value.</exception>
    public static LlamaConfig Read(string path)
    {
        var config = HfConfigFile.Read(path).Deserialize<LlamaConfig>();
        config.Validate(path);
        return config;
    }

    /// <summary>Writes this config as an indented config.json that HF transformers reads.</summary>
    public string ToJson() => HfConfigFile.Serialize(this);

    /// <summary>Throws a <see cref="SkimFormatException"/> naming the key when a value is inconsistent or unsupported.</summary>
    /// <param name="path">The config file the values came from, for the message.</param>
    public void Validate(string path = "config.json")
    {
        if (!SupportedModelTypes.Contains(ModelType))
        {
            throw new SkimFormatException(path, "key 'model_type'", $"expected one of {string.Join(", ", SupportedModelTypes)}, found \"{ModelType}\"");
        }
        Positive(path, "vocab_size", VocabSize);
        Positive(path, "hidden_size", HiddenSize);
        Positive(path, "intermediate_size", IntermediateSize);
        Positive(path, "num_hidden_layers", NumHiddenLayers);
        Positive(path, "num_attention_heads", NumAttentionHeads);
        Positive(path, "num_key_value_heads", KeyValueHeads);
        Positive(path, "max_position_embeddings", MaxPositionEmbeddings);
        if (HeadDimOverride is null && HiddenSize % NumAttentionHeads != 0)
        {
            throw new SkimFormatException(path, "key 'num_attention_heads'", $"expected a divisor of hidden_size {HiddenSize}, found {NumAttentionHeads}");
        }
        Positive(path, "head_dim", HeadDim);
        if (HeadDim % 2 != 0)
        {
            throw new SkimFormatException(path, "key 'head_dim'", $"expected an even head width for rotary embeddings, found {HeadDim}");
        }
        if (NumAttentionHeads % KeyValueHeads != 0)
        {
            throw new SkimFormatException(path, "key 'num_key_value_heads'", $"expected a divisor of num_attention_heads {NumAttentionHeads}, found {KeyValueHeads}");
        }
        if (!(RmsNormEps > 0))
        {
            throw new SkimFormatException(path, "key 'rms_norm_eps'", $"expected a positive number, found {RmsNormEps}");
        }
        if (!(RopeTheta > 0))
        {
            throw new SkimFormatException(path, "key 'rope_theta'", $"expected a positive number, found {RopeTheta}");
        }
        if (HiddenAct != "silu")
        {
            throw new SkimFormatException(path, "key 'hidden_act'", $"unsupported \"{HiddenAct}\" (expected \"silu\")");
        }
        if (RopeScaling is { ValueKind: not JsonValueKind.Null } scaling)
        {
            throw new SkimFormatException(path, "key 'rope_scaling'", $"unsupported {scaling.GetRawText()} (only plain rotary embeddings are implemented; expected null)");
        }
        if (QuantizationConfig is { ValueKind: not JsonValueKind.Null })
        {
            throw new SkimFormatException(path, "key 'quantization_config'", "unsupported quantised checkpoint (expected dense float weights)");
        }
        if (ModelType == "qwen2" && UseSlidingWindow)
        {
            throw new SkimFormatException(path, "key 'use_sliding_window'", "unsupported true (sliding-window attention is not implemented; expected false)");
        }
        if (SlidingWindow is { } window && window <= 0)
        {
            throw new SkimFormatException(path, "key 'sliding_window'", $"expected a positive window or null, found {window}");
        }
        if (AttentionDropout != 0)
        {
            throw new SkimFormatException(path, "key 'attention_dropout'", $"unsupported {AttentionDropout} (expected 0)");
        }
        CheckTokenId(path, "bos_token_id", BosTokenId);
        CheckTokenId(path, "pad_token_id", PadTokenId);
        foreach (var eos in EosTokenIds)
        {
            CheckTokenId(path, "eos_token_id", eos);
        }
    }

    private void CheckTokenId(string path, string key, int? id)
    {
        if (id is { } value && (value < 0 || value >= VocabSize))
        {
            throw new SkimFormatException(path, $"key '{key}'", $"expected an id in [0, {VocabSize}), found {value}");
        }
    }

    private static void Positive(string path, string key, int value)
    {
        if (value <= 0)
        {
            throw new SkimFormatException(path, $"key '{key}'", $"expected a positive integer, found {value}");
        }
    }
}

/// <summary>Reads config.json's token-id fields, which hold either one id, a list of ids, or null.</summary>
internal sealed class TokenIdListConverter : JsonConverter<IReadOnlyList<int>>
{
    /// <inheritdoc />
    public override IReadOnlyList<int> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return [];
            case JsonTokenType.Number:
                return [reader.GetInt32()];
            case JsonTokenType.StartArray:
                var ids = new List<int>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number)
                    {
                        throw new JsonException($"expected a token id, found {reader.TokenType}");
                    }
                    ids.Add(reader.GetInt32());
                }
                return ids;
            default:
                throw new JsonException($"expected a token id or a list of ids, found {reader.TokenType}");
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, IReadOnlyList<int> value, JsonSerializerOptions options)
    {
        if (value.Count == 1)
        {
            writer.WriteNumberValue(value[0]);
            return;
        }
        writer.WriteStartArray();
        foreach (var id in value)
        {
            writer.WriteNumberValue(id);
        }
        writer.WriteEndArray();
    }
}
