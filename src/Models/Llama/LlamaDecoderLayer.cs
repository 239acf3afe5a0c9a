using Skim.Models.Devices;
using Skim.Models.Generation;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Llama;

/// <summary>
/// Mirrors transformers' <c>LlamaDecoderLayer</c>: pre-norm attention and pre-norm SwiGLU MLP, each
/// added to the residual stream. Weights <c>self_attn</c>, <c>mlp</c>, <c>input_layernorm</c>,
/// <c>post_attention_layernorm</c>.
/// </summary>
internal sealed class LlamaDecoderLayer : nn.Module
{
    [ComponentName(Name = "self_attn")]
    private readonly LlamaAttention _selfAttn;

    [ComponentName(Name = "mlp")]
    private readonly LlamaMlp _mlp;

    [ComponentName(Name = "input_layernorm")]
    private readonly LlamaRmsNorm _inputLayerNorm;

    [ComponentName(Name = "post_attention_layernorm")]
    private readonly LlamaRmsNorm _postAttentionLayerNorm;

    public LlamaDecoderLayer(LlamaConfig config, int layerIndex, Device? device = null, ScalarType? dtype = null)
        : base(nameof(LlamaDecoderLayer))
    {
        _selfAttn = new LlamaAttention(config, layerIndex, device, dtype);
        _mlp = new LlamaMlp(config, device, dtype);
        _inputLayerNorm = new LlamaRmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        _postAttentionLayerNorm = new LlamaRmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    /// <summary>Gets the attention block.</summary>
    public LlamaAttention SelfAttention => _selfAttn;

    /// <summary>Gets the MLP block.</summary>
    public LlamaMlp Mlp => _mlp;

    /// <summary>Runs the layer on (B, T, H) hidden states; see <see cref="LlamaAttention.forward"/> for the mask.</summary>
    public Tensor forward(Tensor hidden, Tensor cos, Tensor signedSin, Tensor? mask, KvCache? cache)
    {
        // Chained calls leave unnamed intermediates (views, casts) that a `using` cannot reach; this
        // scope frees them when the layer returns. Without it a 30-layer prefill kept every layer's
        // activations alive until the caller's scope ended (about 750 MB at batch 32 × 32 tokens),
        // and fresh pages for each of them made the kernel's page clearing a quarter of the pass.
        using var scope = NewDisposeScope();
        using var s = new HeldScalars(); // every layer of every forward pass: see HeldScalars
        using var normed = _inputLayerNorm.forward(hidden); // (B, T, H)
        using var attended = _selfAttn.forward(normed, cos, signedSin, mask, cache); // (B, T, H)
        using var residual = hidden.add(attended, s[1]);
        using var normed2 = _postAttentionLayerNorm.forward(residual);
        using var mlp = _mlp.forward(normed2); // (B, T, H)
        return residual.add(mlp, s[1]).MoveToOuterDisposeScope();
    }
}
