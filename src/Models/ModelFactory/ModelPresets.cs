using Skim.Core;
using Skim.Models.Bert;
using Skim.Models.DistilBert;
using Skim.Models.Llama;

namespace Skim.Models.ModelFactory;

/// <summary>The model families <c>skim model init</c> creates.</summary>
public enum ModelArchitecture
{
    /// <summary>Llama (Llama-2/3, SmolLM): <c>LlamaForCausalLM</c>.</summary>
    Llama,

    /// <summary>Qwen2: q/k/v biases, tied embeddings in the small sizes: <c>Qwen2ForCausalLM</c>.</summary>
    Qwen2,

    /// <summary>Mistral: grouped-query attention with a sliding window: <c>MistralForCausalLM</c>.</summary>
    Mistral,

    /// <summary>BERT encoder: <c>BertModel</c>.</summary>
    Bert,

    /// <summary>DistilBERT encoder: <c>DistilBertModel</c>.</summary>
    DistilBert,
}

/// <summary>
/// One architecture's size: exactly one of the config records is set. HF size names give the
/// published shapes; <c>tiny</c> is the 2-layer test size and <c>small</c> a few million parameters.
/// </summary>
/// <param name="Architecture">The family.</param>
/// <param name="Name">The preset name as the user should spell it.</param>
/// <param name="Decoder">The config of a Llama-family decoder, or null.</param>
/// <param name="Bert">The config of a BERT encoder, or null.</param>
/// <param name="DistilBert">The config of a DistilBERT encoder, or null.</param>
public sealed record ModelPreset(ModelArchitecture Architecture, string Name, LlamaConfig? Decoder = null, BertConfig? Bert = null, DistilBertConfig? DistilBert = null)
{
    /// <summary>Gets whether the preset is a decoder (trained tokenizers are then byte-level BPE, else WordPiece).</summary>
    public bool IsDecoder => Decoder is not null;

    /// <summary>Gets the config.json model_type.</summary>
    public string ModelType => Decoder?.ModelType ?? Bert?.ModelType ?? DistilBert!.ModelType;

    /// <summary>Gets the longest input the model takes (max_position_embeddings), for the tokenizer's model_max_length.</summary>
    public int MaxPositions => Decoder?.MaxPositionEmbeddings ?? Bert?.MaxPositionEmbeddings ?? DistilBert!.MaxPositionEmbeddings;
}

/// <summary>Resolves <c>--arch</c> and <c>--preset</c> values.</summary>
public static class ModelPresets
{
    /// <summary>Gets the accepted <c>--arch</c> spellings, for help texts.</summary>
    public const string ArchitectureChoices = "llama|qwen2|mistral|bert|distilbert";

    private static readonly LlamaConfig s_smallDecoder = LlamaConfig.Tiny with
    {
        HiddenSize = 256,
        IntermediateSize = 688,
        NumHiddenLayers = 4,
        NumAttentionHeads = 8,
        NumKeyValueHeads = 4,
        MaxPositionEmbeddings = 1024,
    };

    private static readonly Dictionary<ModelArchitecture, (string Name, string[] Aliases, ModelPreset Preset)[]> s_presets = new()
    {
        [ModelArchitecture.Llama] =
        [
            ("tiny", [], Decoder(ModelArchitecture.Llama, "tiny", LlamaConfig.Tiny)),
            ("small", [], Decoder(ModelArchitecture.Llama, "small", s_smallDecoder)),
            ("SmolLM-135M", ["HuggingFaceTB/SmolLM-135M"], Decoder(ModelArchitecture.Llama, "SmolLM-135M", LlamaConfig.SmolLM135M)),
            ("Llama-2-7b", ["Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf", "Llama-2-7B"], Decoder(ModelArchitecture.Llama, "Llama-2-7b", LlamaConfig.Llama2_7B)),
        ],
        [ModelArchitecture.Qwen2] =
        [
            ("tiny", [], Decoder(ModelArchitecture.Qwen2, "tiny", Qwen2(LlamaConfig.Tiny))),
            ("small", [], Decoder(ModelArchitecture.Qwen2, "small", Qwen2(s_smallDecoder) with { TieWordEmbeddings = true })),
            ("Qwen2-0.5B", ["Qwen/Qwen2-0.5B"], Decoder(ModelArchitecture.Qwen2, "Qwen2-0.5B", LlamaConfig.Qwen2_0_5B)),
        ],
        [ModelArchitecture.Mistral] =
        [
            ("tiny", [], Decoder(ModelArchitecture.Mistral, "tiny", Mistral(LlamaConfig.Tiny))),
            ("small", [], Decoder(ModelArchitecture.Mistral, "small", Mistral(s_smallDecoder))),
            ("Mistral-7B-v0.1", ["mistralai/Mistral-7B-v0.1", "Mistral-7B"], Decoder(ModelArchitecture.Mistral, "Mistral-7B-v0.1", Mistral7B())),
        ],
        [ModelArchitecture.Bert] =
        [
            ("tiny", [], new ModelPreset(ModelArchitecture.Bert, "tiny", Bert: BertConfig.Tiny)),
            ("small", [], new ModelPreset(ModelArchitecture.Bert, "small", Bert: BertConfig.Tiny with { HiddenSize = 256, NumHiddenLayers = 4, NumAttentionHeads = 4, IntermediateSize = 1024, MaxPositionEmbeddings = 512 })),
            ("bert-base-uncased", ["google-bert/bert-base-uncased"], new ModelPreset(ModelArchitecture.Bert, "bert-base-uncased", Bert: BertConfig.BaseUncased)),
        ],
        [ModelArchitecture.DistilBert] =
        [
            ("tiny", [], new ModelPreset(ModelArchitecture.DistilBert, "tiny", DistilBert: DistilBertConfig.Tiny)),
            ("small", [], new ModelPreset(ModelArchitecture.DistilBert, "small", DistilBert: DistilBertConfig.Tiny with { Dim = 256, NLayers = 4, NHeads = 4, HiddenDim = 1024, MaxPositionEmbeddings = 512 })),
            ("distilbert-base-uncased", ["distilbert/distilbert-base-uncased"], new ModelPreset(ModelArchitecture.DistilBert, "distilbert-base-uncased", DistilBert: DistilBertConfig.BaseUncased)),
        ],
    };

    /// <summary>Parses an <c>--arch</c> value (case-insensitive).</summary>
    /// <exception cref="SkimConfigException">The value names no supported architecture.</exception>
    public static ModelArchitecture ParseArchitecture(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToLowerInvariant() switch
        {
            "llama" => ModelArchitecture.Llama,
            "qwen2" => ModelArchitecture.Qwen2,
            "mistral" => ModelArchitecture.Mistral,
            "bert" => ModelArchitecture.Bert,
            "distilbert" => ModelArchitecture.DistilBert,
            _ => throw new SkimConfigException($"--arch '{value}': expected {ArchitectureChoices}"),
        };
    }

    /// <summary>Gets the preset names of <paramref name="architecture"/>, in help order.</summary>
    public static IReadOnlyList<string> Names(ModelArchitecture architecture) => [.. s_presets[architecture].Select(p => p.Name)];

    /// <summary>
    /// Resolves a <c>--preset</c> value for <paramref name="architecture"/>: <c>tiny</c>, <c>small</c>
    /// or an HF size name (case-insensitive, with or without its organisation prefix).
    /// </summary>
    /// <exception cref="SkimConfigException">The preset is not known for this architecture; the message lists those that are.</exception>
    public static ModelPreset Resolve(ModelArchitecture architecture, string preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        var wanted = preset.Trim();
        foreach (var (name, aliases, value) in s_presets[architecture])
        {
            if (name.Equals(wanted, StringComparison.OrdinalIgnoreCase) || aliases.Any(a => a.Equals(wanted, StringComparison.OrdinalIgnoreCase)))
            {
                return value;
            }
        }
        throw new SkimConfigException($"--preset '{preset}': not a {architecture.ToString().ToLowerInvariant()} preset (expected {string.Join(", ", Names(architecture))})");
    }

    private static ModelPreset Decoder(ModelArchitecture architecture, string name, LlamaConfig config) => new(architecture, name, Decoder: config);

    // Qwen2's traits on a Llama shape: q/k/v biases (implied by model_type), θ = 1e6, eps 1e-6.
    private static LlamaConfig Qwen2(LlamaConfig shape) => shape with
    {
        ModelType = "qwen2",
        RopeTheta = 1_000_000,
        RmsNormEps = 1e-6,
        Architectures = ["Qwen2ForCausalLM"],
    };

    // Mistral's sliding window is set to the context length so that the small sizes never refuse a sequence.
    private static LlamaConfig Mistral(LlamaConfig shape) => shape with
    {
        ModelType = "mistral",
        SlidingWindow = shape.MaxPositionEmbeddings,
        Architectures = ["MistralForCausalLM"],
    };

    // The published config.json of mistralai/Mistral-7B-v0.1.
    private static LlamaConfig Mistral7B() => LlamaConfig.Llama2_7B with
    {
        ModelType = "mistral",
        IntermediateSize = 14336,
        NumKeyValueHeads = 8,
        MaxPositionEmbeddings = 32768,
        SlidingWindow = 4096,
        Architectures = ["MistralForCausalLM"],
    };
}
