using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>Mirrors transformers' <c>BertSelfOutput</c>: dense projection, dropout, residual add and LayerNorm.</summary>
public sealed class BertSelfOutput : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "dense")]
    private readonly Linear _dense;

    [ComponentName(Name = "LayerNorm")]
    private readonly LayerNorm _layerNorm;

    [ComponentName(Name = "dropout")]
    private readonly Dropout _dropout;

    /// <summary>Creates the layer for <paramref name="config"/>.</summary>
    public BertSelfOutput(BertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertSelfOutput))
    {
        ArgumentNullException.ThrowIfNull(config);
        _dense = nn.Linear(config.HiddenSize, config.HiddenSize, device: device, dtype: dtype);
        _layerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps, device: device, dtype: dtype);
        _dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>Projects <paramref name="context"/> (B, T, H) and adds it to <paramref name="residual"/> (B, T, H).</summary>
    public override Tensor forward(Tensor context, Tensor residual)
    {
        using var projected = _dense.forward(context); // (B, T, H)
        using var dropped = _dropout.forward(projected);
        using var sum = dropped + residual;
        return _layerNorm.forward(sum);
    }
}
