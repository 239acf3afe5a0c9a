using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>Mirrors transformers' <c>BertOutput</c>: the second feed-forward projection, dropout, residual add and LayerNorm.</summary>
public sealed class BertOutput : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "dense")]
    private readonly Linear _dense;

    [ComponentName(Name = "LayerNorm")]
    private readonly LayerNorm _layerNorm;

    [ComponentName(Name = "dropout")]
    private readonly Dropout _dropout;

    /// <summary>Creates the layer for <paramref name="config"/>.</summary>
    public BertOutput(BertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertOutput))
    {
        ArgumentNullException.ThrowIfNull(config);
        _dense = nn.Linear(config.IntermediateSize, config.HiddenSize, device: device, dtype: dtype);
        _layerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps, device: device, dtype: dtype);
        _dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>Projects <paramref name="intermediate"/> (B, T, intermediate) back to (B, T, H) and adds <paramref name="residual"/>.</summary>
    public override Tensor forward(Tensor intermediate, Tensor residual)
    {
        using var projected = _dense.forward(intermediate); // (B, T, H)
        using var dropped = _dropout.forward(projected);
        using var sum = dropped + residual;
        return _layerNorm.forward(sum);
    }
}
