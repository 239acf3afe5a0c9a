using Skim.Models.Devices;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.DistilBert;

/// <summary>Mirrors transformers' DistilBERT <c>TransformerBlock</c> (post-LayerNorm): attention + sa_layer_norm, ffn + output_layer_norm.</summary>
public sealed class DistilBertTransformerBlock : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "attention")]
    private readonly DistilBertMultiHeadSelfAttention _attention;

    [ComponentName(Name = "sa_layer_norm")]
    private readonly LayerNorm _saLayerNorm;

    [ComponentName(Name = "ffn")]
    private readonly DistilBertFfn _ffn;

    [ComponentName(Name = "output_layer_norm")]
    private readonly LayerNorm _outputLayerNorm;

    /// <summary>Creates the block for <paramref name="config"/>.</summary>
    public DistilBertTransformerBlock(DistilBertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(DistilBertTransformerBlock))
    {
        ArgumentNullException.ThrowIfNull(config);
        _attention = new DistilBertMultiHeadSelfAttention(config, device, dtype);
        _saLayerNorm = nn.LayerNorm(config.Dim, eps: DistilBertConfig.LayerNormEps, device: device, dtype: dtype);
        _ffn = new DistilBertFfn(config, device, dtype);
        _outputLayerNorm = nn.LayerNorm(config.Dim, eps: DistilBertConfig.LayerNormEps, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Maps (B, T, dim) to (B, T, dim) under the additive <paramref name="bias"/> (B, 1, 1, T).</summary>
    public override Tensor forward(Tensor hidden, Tensor bias)
    {
        using var s = new HeldScalars(); // every forward pass: see HeldScalars
        using var attended = _attention.forward(hidden, bias); // (B, T, dim)
        using var attendedSum = attended.add(hidden, s[1]);
        using var normed = _saLayerNorm.forward(attendedSum);
        using var fed = _ffn.forward(normed); // (B, T, dim)
        using var fedSum = fed.add(normed, s[1]);
        return _outputLayerNorm.forward(fedSum);
    }
}
