using System.Text.Json.Serialization;
using Skim.Core;
using Skim.Core.Formats.HfConfig;
using Skim.Models.Bert;
using Skim.Models.Encoders;

namespace Skim.Models.DistilBert;

/// <summary>
/// Mirrors transformers' <c>DistilBertConfig</c> as read from config.json (HF's defaults, HF's key
/// names: <c>dim</c>, <c>n_layers</c>, <c>n_heads</c>, <c>hidden_dim</c>). DistilBERT's LayerNorm
/// epsilon is fixed at 1e-12 in HF's code, not configurable.
/// </summary>
public sealed record DistilBertConfig
{
    /// <summary>The LayerNorm epsilon HF's DistilBERT modules hard-code.</summary>
    public const double LayerNormEps = 1e-12;

    /// <summary>Gets the model type; must be "distilbert". Defaults to "distilbert".</summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "distilbert";

    /// <summary>Gets the vocabulary size. Defaults to 30522.</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; } = 30522;

    /// <summary>Gets the hidden size. Defaults to 768.</summary>
    [JsonPropertyName("dim")]
    public int Dim { get; init; } = 768;

    /// <summary>Gets the number of layers. Defaults to 6.</summary>
    [JsonPropertyName("n_layers")]
    public int NLayers { get; init; } = 6;

    /// <summary>Gets the number of attention heads. Defaults to 12.</summary>
    [JsonPropertyName("n_heads")]
    public int NHeads { get; init; } = 12;

    /// <summary>Gets the feed-forward size. Defaults to 3072.</summary>
    [JsonPropertyName("hidden_dim")]
    public int HiddenDim { get; init; } = 3072;

    /// <summary>Gets the activation: "gelu" (exact, erf) or "relu" (and the tanh GELU variants). Defaults to "gelu".</summary>
    [JsonPropertyName("activation")]
    public string Activation { get; init; } = "gelu";

    /// <summary>Gets the dropout after embeddings and sub-layers (training only). Defaults to 0.1.</summary>
    [JsonPropertyName("dropout")]
    public double Dropout { get; init; } = 0.1;

    /// <summary>Gets the dropout on attention weights (training only). Defaults to 0.1.</summary>
    [JsonPropertyName("attention_dropout")]
    public double AttentionDropout { get; init; } = 0.1;

    /// <summary>Gets the number of learned positions. Defaults to 512.</summary>
    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; init; } = 512;

    /// <summary>
    /// Gets whether the position table was initialised with sinusoids. The table is stored in the
    /// checkpoint either way, so a loaded model computes the same thing; only fresh initialisation
    /// differs. Defaults to false.
    /// </summary>
    [JsonPropertyName("sinusoidal_pos_embds")]
    public bool SinusoidalPosEmbds { get; init; }

    /// <summary>Gets the padding token id. Defaults to 0.</summary>
    [JsonPropertyName("pad_token_id")]
    public int? PadTokenId { get; init; } = 0;

    /// <summary>Gets the HF class names the checkpoint was saved from (informational). Defaults to null.</summary>
    [JsonPropertyName("architectures")]
    public IReadOnlyList<string>? Architectures { get; init; }

    /// <summary>Gets the dtype the checkpoint was saved in (informational). Defaults to null.</summary>
    [JsonPropertyName("torch_dtype")]
    public string? TorchDtype { get; init; }

    /// <summary>Gets a 2-layer, hidden-32 model for tests (vocab 128, 4 heads, 37-wide FFN to catch size mix-ups).</summary>
    public static DistilBertConfig Tiny { get; } = new()
    {
        VocabSize = 128,
        Dim = 32,
        NLayers = 2,
        NHeads = 4,
        HiddenDim = 37,
        MaxPositionEmbeddings = 64,
        Architectures = ["DistilBertModel"],
    };

    /// <summary>Gets the shape of Hugging Face's <c>distilbert-base-uncased</c> (and of msmarco-distilbert-base-v4).</summary>
    public static DistilBertConfig BaseUncased { get; } = new() { Architectures = ["DistilBertForMaskedLM"] };

    /// <summary>Gets the width of one attention head.</summary>
    [JsonIgnore]
    public int HeadDim => Dim / NHeads;

    /// <summary>Reads and validates a config.json whose model_type is "distilbert".</summary>
    public static DistilBertConfig Read(string path)
    {
        var config = HfConfigFile.Read(path).Deserialize<DistilBertConfig>();
        config.Validate(path);
        return config;
    }

    /// <summary>Throws a <see cref="SkimFormatException"/> naming the key when a value is inconsistent or unsupported.</summary>
    /// <param name="path">The config file the values came from, for the message.</param>
    public void Validate(string path = "config.json")
    {
        if (ModelType != "distilbert")
        {
            throw new SkimFormatException(path, "key 'model_type'", $"expected \"distilbert\", found \"{ModelType}\"");
        }
        BertConfig.Positive(path, "vocab_size", VocabSize);
        BertConfig.Positive(path, "dim", Dim);
        BertConfig.Positive(path, "n_layers", NLayers);
        BertConfig.Positive(path, "n_heads", NHeads);
        BertConfig.Positive(path, "hidden_dim", HiddenDim);
        BertConfig.Positive(path, "max_position_embeddings", MaxPositionEmbeddings);
        if (Dim % NHeads != 0)
        {
            throw new SkimFormatException(path, "key 'n_heads'", $"expected a divisor of dim {Dim}, found {NHeads}");
        }
        EncoderActivation.Validate(path, "activation", Activation);
    }
}
