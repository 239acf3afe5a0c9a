using Skim.Models.Devices;
using Skim.Models.Generation;
using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Models.Lora;
using Skim.Models.Weights;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Llama;

/// <summary>
/// Mirrors transformers' <c>LlamaForCausalLM</c> (and <c>MistralForCausalLM</c>,
/// <c>Qwen2ForCausalLM</c>): the decoder under the key prefix <c>model.</c> and the LM head
/// <c>lm_head</c>. With tied embeddings there is no <c>lm_head.weight</c> key (HF omits it from the
/// checkpoint) and the logits reuse <c>model.embed_tokens.weight</c>.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module, ILoraHost
{
    [ComponentName(Name = "model")]
    private readonly LlamaModel _model;

    [ComponentName(Name = "lm_head")]
    private nn.Module<Tensor, Tensor>? _lmHead;

    /// <summary>Builds the model with freshly initialised weights (normal, std initializer_range; norms at one; biases at zero).</summary>
    /// <param name="config">The architecture; validated.</param>
    /// <param name="device">The device; null for the default (CPU). The meta device builds shapes without memory.</param>
    /// <param name="dtype">The parameter dtype; null for the default (float32).</param>
    public LlamaForCausalLM(LlamaConfig config, Device? device = null, ScalarType? dtype = null)
        : this(config, device, dtype, initialize: true)
    {
    }

    private LlamaForCausalLM(LlamaConfig config, Device? device, ScalarType? dtype, bool initialize)
        : base(nameof(LlamaForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        _model = new LlamaModel(config, device, dtype);
        _lmHead = config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device, dtype);
        RegisterComponents();
        if (initialize)
        {
            InitializeWeights();
        }
    }

    /// <summary>
    /// Loads a Hugging Face checkpoint folder: config.json (validated) and model.safetensors, a
    /// sharded index or a PyTorch state dict, strictly (every missing, unexpected or mis-shaped key is
    /// reported in one error). Weights are converted to <paramref name="dtype"/> on load.
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="device">The device; null for the CPU.</param>
    /// <param name="dtype">The parameter dtype; null for float32.</param>
    /// <exception cref="SkimFormatException">config.json or the weights are missing, invalid or do not fit.</exception>
    public static LlamaForCausalLM FromPretrained(string folder, Device? device = null, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var config = LlamaConfig.Read(Path.Combine(folder, "config.json"));
        using var weights = WeightFiles.Open(folder);
        var tensors = weights.Tensors;
        if (config.TieWordEmbeddings && tensors.ContainsKey("lm_head.weight"))
        {
            // Some tied checkpoints store the shared matrix twice; HF ignores the copy, and so do we.
            tensors = tensors.Where(e => e.Key != "lm_head.weight").ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        }
        if (tensors.Keys.Any(IsStoredRotaryFrequencies))
        {
            // Checkpoints saved by transformers before 4.31 (meta-llama/Llama-2-7b-hf among them)
            // store each layer's rotary inv_freq buffer; it is recomputed from rope_theta, as HF does.
            tensors = tensors.Where(e => !IsStoredRotaryFrequencies(e.Key)).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        }
        // Strict loading overwrites every parameter, so the model is built on the meta device and
        // given uninitialised memory: no random numbers are drawn for weights that the checkpoint
        // replaces (two full passes of them, HF's and nn.Linear's, took minutes for 7B on the CPU).
        var model = new LlamaForCausalLM(config, TorchDevices.Meta, dtype, initialize: false);
        try
        {
            if ((device ?? CPU).type != DeviceType.META)
            {
                model.MaterializeEmpty(device ?? CPU);
            }
            WeightLoader.LoadStrict(model, tensors, folder);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    // Gives every parameter of a meta-device model uninitialised memory on the device. The model is
    // made of Linear, Embedding and LlamaRmsNorm parameters only; anything left on the meta device
    // would compute garbage without an error, so it is refused.
    private void MaterializeEmpty(Device device)
    {
        foreach (var (_, module) in named_modules().ToList())
        {
            switch (module)
            {
                case Linear linear:
                    linear.weight = new Parameter(empty(linear.weight!.shape, linear.weight.dtype, device));
                    if (linear.bias is { } bias)
                    {
                        linear.bias = new Parameter(empty(bias.shape, bias.dtype, device));
                    }
                    break;
                case Embedding embedding:
                    embedding.weight = new Parameter(empty(embedding.weight!.shape, embedding.weight.dtype, device));
                    break;
                case LlamaRmsNorm norm:
                    norm.Materialize(device);
                    break;
            }
        }
        var left = named_parameters().Where(p => p.parameter.device_type == DeviceType.META).Select(p => p.name).ToList();
        if (left.Count > 0)
        {
            throw new InvalidOperationException($"parameters left on the meta device after materialising: {string.Join(", ", left)}");
        }
    }

    private static bool IsStoredRotaryFrequencies(string key) =>
        key.EndsWith(".self_attn.rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>
    /// Writes config.json and model.safetensors into <paramref name="folder"/> (HF's layout and key
    /// names), optionally storing floats as <paramref name="dtype"/>. LoRA adapters are saved as they
    /// are; merge and strip them first for a plain checkpoint (see <c>LoraModel.SaveMerged</c>).
    /// </summary>
    public void SavePretrained(string folder, TensorDType? dtype = null) => WeightSaver.SavePretrained(this, Config, folder, dtype);

    /// <summary>Gets the config the model was built from.</summary>
    public LlamaConfig Config => _model.Config;

    /// <summary>Gets the decoder (key prefix <c>model.</c>).</summary>
    public LlamaModel Model => _model;

    /// <summary>
    /// Returns logits (B, T, vocab), or (B, 1, vocab) for the last position only when
    /// <paramref name="lastPositionOnly"/> is set (generation needs no more, and the LM head is the
    /// widest matmul). Arguments are those of <see cref="LlamaModel.forward"/>.
    /// </summary>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, KvCache? cache = null, Tensor? positionIds = null, bool lastPositionOnly = false)
    {
        using var scope = NewDisposeScope();
        using var hidden = _model.forward(inputIds, attentionMask, cache, positionIds); // (B, T, H)
        using var used = lastPositionOnly ? hidden.narrow(1, hidden.shape[1] - 1, 1) : hidden.alias(); // (B, T', H)
        var weight = _lmHead switch
        {
            null => _model.EmbedTokens.weight!,
            Linear { bias: null } plain => plain.weight!,
            _ => null, // a LoRA-wrapped head computes its own output
        };
        var logits = weight is null ? _lmHead!.forward(used) : Project(used, weight); // (B, T', V)
        return logits.MoveToOuterDisposeScope();
    }

    // The LM head is the widest matmul of a decoding step. With a few rows (one position of a batch),
    // W · hᵀ runs about a third faster on the CPU than h · Wᵀ (nn.Linear's form), because the BLAS
    // then streams the large (V, H) operand in the layout it packs best; for many rows both are equal.
    private const int FewRows = 64;

    private static Tensor Project(Tensor hidden, Tensor weight)
    {
        var (batch, time) = (hidden.shape[0], hidden.shape[1]);
        if (batch * time > FewRows)
        {
            return nn.functional.linear(hidden, weight); // (B, T', V)
        }
        using var rows = hidden.reshape(batch * time, hidden.shape[2]); // (B·T', H)
        using var transposed = weight.matmul(rows.t()); // (V, B·T')
        using var logits = transposed.t().contiguous(); // (B·T', V)
        return logits.view(batch, time, weight.shape[0]); // (B, T', V)
    }

    /// <summary>Creates an empty KV cache sized for this model.</summary>
    public KvCache CreateCache(int capacity = 256) => new(Config.NumHiddenLayers, capacity);

    /// <summary>Re-draws every weight as HF's <c>_init_weights</c> does: normal(0, initializer_range) for linear and embedding weights, zero biases, unit norms.</summary>
    public void InitializeWeights()
    {
        using var noGrad = no_grad();
        var std = Config.InitializerRange;
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("layernorm.weight", StringComparison.Ordinal) || name == "model.norm.weight")
            {
                parameter.fill_(1);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                parameter.zero_();
            }
            else if (!name.Contains("lora_", StringComparison.Ordinal))
            {
                parameter.normal_(0, std);
            }
        }
    }

    /// <inheritdoc />
    IEnumerable<string> ILoraHost.ProjectionNames => _lmHead is null ? [] : ["lm_head"];

    /// <inheritdoc />
    void ILoraHost.ReplaceProjection(string name, Func<nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>> replace)
    {
        if (name != "lm_head" || _lmHead is null)
        {
            throw new ArgumentException($"LlamaForCausalLM has no separate projection '{name}' (tied embeddings have no lm_head)", nameof(name));
        }
        _lmHead = LoraHost.Swap(this, name, _lmHead, replace);
    }
}
