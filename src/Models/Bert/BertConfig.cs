using System.Text.Json.Serialization;
using Skim.Core;
using Skim.Core.Formats.HfConfig;
using Skim.Models.Encoders;

namespace Skim.Models.Bert;

/// <summary>
/// Mirrors transformers' <c>BertConfig</c> as read from config.json. Defaults are HF's, so a
/// config.json that omits a key means what it means to HF.
/// </summary>
public sealed record BertConfig
{
    /// <summary>Gets the model type; must be "bert". Defaults to "bert".</summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "bert";

    /// <summary>Gets the vocabulary size. Defaults to 30522.</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; } = 30522;

    /// <summary>Gets the hidden size. Defaults to 768.</summary>
    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; init; } = 768;

    /// <summary>Gets the number of layers. Defaults to 12.</summary>
    [JsonPropertyName("num_hidden_layers")]
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary>Gets the number of attention heads. Defaults to 12.</summary>
    [JsonPropertyName("num_attention_heads")]
    public int NumAttentionHeads { get; init; } = 12;

    /// <summary>Gets the feed-forward size. Defaults to 3072.</summary>
    [JsonPropertyName("intermediate_size")]
    public int IntermediateSize { get; init; } = 3072;

    /// <summary>Gets the activation: "gelu" (exact, erf), "gelu_new" or "gelu_pytorch_tanh" (tanh approximation), or "relu". Defaults to "gelu".</summary>
    [JsonPropertyName("hidden_act")]
    public string HiddenAct { get; init; } = "gelu";

    /// <summary>Gets the dropout after embeddings and sub-layers (training only). Defaults to 0.1.</summary>
    [JsonPropertyName("hidden_dropout_prob")]
    public double HiddenDropoutProb { get; init; } = 0.1;

    /// <summary>Gets the dropout on attention probabilities (training only). Defaults to 0.1.</summary>
    [JsonPropertyName("attention_probs_dropout_prob")]
    public double AttentionProbsDropoutProb { get; init; } = 0.1;

    /// <summary>Gets the number of learned positions. Defaults to 512.</summary>
    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; init; } = 512;

    /// <summary>Gets the number of token types (segments). Defaults to 2.</summary>
    [JsonPropertyName("type_vocab_size")]
    public int TypeVocabSize { get; init; } = 2;

    /// <summary>Gets the LayerNorm epsilon. Defaults to 1e-12.</summary>
    [JsonPropertyName("layer_norm_eps")]
    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary>Gets the padding token id. Defaults to 0.</summary>
    [JsonPropertyName("pad_token_id")]
    public int? PadTokenId { get; init; }

    /// <summary>Gets the position embedding type; only "absolute" is supported. Defaults to "absolute".</summary>
    [JsonPropertyName("position_embedding_type")]
    public string PositionEmbeddingType { get; init; } = "absolute";

    /// <summary>Gets whether the model is a decoder; must be false for an encoder. Defaults to false.</summary>
    [JsonPropertyName("is_decoder")]
    public bool IsDecoder { get; init; }

    /// <summary>Gets whether cross-attention layers exist; must be false. Defaults to false.</summary>
    [JsonPropertyName("add_cross_attention")]
    public bool AddCrossAttention { get; init; }

    /// <summary>Gets the HF class names the checkpoint was saved from (informational). Defaults to null.</summary>
    [JsonPropertyName("architectures")]
    public IReadOnlyList<string>? Architectures { get; init; }

    /// <summary>Gets the dtype the checkpoint was saved in (informational). Defaults to null.</summary>
    [JsonPropertyName("torch_dtype")]
    public string? TorchDtype { get; init; }

    /// <summary>Gets a 2-layer, hidden-32 model for tests (vocab 128, 4 heads, 37-wide FFN to catch size mix-ups).</summary>
    public static BertConfig Tiny { get; } = new()
    {
        VocabSize = 128,
        HiddenSize = 32,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        IntermediateSize = 37,
        MaxPositionEmbeddings = 64,
        PadTokenId = 0,
        Architectures = ["BertModel"],
    };

    /// <summary>Gets the shape of Hugging Face's <c>bert-base-uncased</c>.</summary>
    public static BertConfig BaseUncased { get; } = new() { PadTokenId = 0, Architectures = ["BertForMaskedLM"] };

    /// <summary>Gets the width of one attention head.</summary>
    [JsonIgnore]
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Reads and validates a config.json whose model_type is "bert".</summary>
    public static BertConfig Read(string path)
    {
        var config = HfConfigFile.Read(path).Deserialize<BertConfig>();
        config.Validate(path);
        return config;
    }

    /// <summary>Throws a <see cref="SkimFormatException"/> naming the key when a value is inconsistent or unsupported.</summary>
    /// <param name="path">The config file the values came from, for the message.</param>
    public void Validate(string path = "config.json")
    {
        if (ModelType != "bert")
        {
            throw new SkimFormatException(path, "key 'model_type'", $"expected \"bert\", found \"{ModelType}\"");
        }
        Positive(path, "vocab_size", VocabSize);
        Positive(path, "hidden_size", HiddenSize);
        Positive(path, "num_hidden_layers", NumHiddenLayers);
        Positive(path, "num_attention_heads", NumAttentionHeads);
        Positive(path, "intermediate_size", IntermediateSize);
        Positive(path, "max_position_embeddings", MaxPositionEmbeddings);
        Positive(path, "type_vocab_size", TypeVocabSize);
        if (HiddenSize % NumAttentionHeads != 0)
        {
            throw new SkimFormatException(path, "key 'num_attention_heads'", $"expected a divisor of hidden_size {HiddenSize}, found {NumAttentionHeads}");
        }
        if (!(LayerNormEps > 0))
        {
            throw new SkimFormatException(path, "key 'layer_norm_eps'", $"expected a positive number, found {LayerNormEps}");
        }
        EncoderActivation.Validate(path, "hidden_act", HiddenAct);
        if (PositionEmbeddingType != "absolute")
        {
            throw new SkimFormatException(path, "key 'position_embedding_type'", $"unsupported \"{PositionEmbeddingType}\" (expected \"absolute\")");
        }
        if (IsDecoder)
        {
            throw new SkimFormatException(path, "key 'is_decoder'", "unsupported true (only BERT encoders are supported)");
        }
        if (AddCrossAttention)
        {
            throw new SkimFormatException(path, "key 'add_cross_attention'", "unsupported true (only BERT encoders are supported)");
        }
    }

    internal static void Positive(string path, string key, int value)
    {
        if (value <= 0)
        {
            throw new SkimFormatException(path, $"key '{key}'", $"expected a positive integer, found {value}");
        }
    }
}
