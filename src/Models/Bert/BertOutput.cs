using Skim.Models.Devices;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>
/// Mirrors transformers' <c>BertOutput</c> and <c>BertSelfOutput</c>, which differ only in the input
/// width: a projection to the hidden size, dropout, residual add and LayerNorm (weights <c>dense</c>,
/// <c>LayerNorm</c>). The attention block uses it from the hidden size, the feed-forward block from
/// the intermediate size.
/// </summary>
public sealed class BertOutput : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "dense")]
    private readonly Linear _dense;

    [ComponentName(Name = "LayerNorm")]
    private readonly LayerNorm _layerNorm;

    [ComponentName(Name = "dropout")]
    private readonly Dropout _dropout;

    /// <summary>Creates the layer for <paramref name="config"/>, projecting from <paramref name="inputSize"/> features.</summary>
    public BertOutput(BertConfig config, long inputSize, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertOutput))
    {
        ArgumentNullException.ThrowIfNull(config);
        _dense = nn.Linear(inputSize, config.HiddenSize, device: device, dtype: dtype);
        _layerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps, device: device, dtype: dtype);
        _dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>Projects <paramref name="input"/> (B, T, input) to (B, T, H) and adds <paramref name="residual"/> (B, T, H).</summary>
    public override Tensor forward(Tensor input, Tensor residual)
    {
        using var projected = _dense.forward(input); // (B, T, H)
        using var dropped = _dropout.forward(projected);
        using var s = new HeldScalars(); // every forward pass: see HeldScalars
        using var sum = dropped.add(residual, s[1]);
        return _layerNorm.forward(sum);
    }
}
