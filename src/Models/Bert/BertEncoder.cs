using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>Mirrors transformers' <c>BertEncoder</c>: the stack <c>layer.N</c>.</summary>
public sealed class BertEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "layer")]
    private readonly ModuleList<BertLayer> _layer;

    /// <summary>Creates <see cref="BertConfig.NumHiddenLayers"/> layers.</summary>
    public BertEncoder(BertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertEncoder))
    {
        ArgumentNullException.ThrowIfNull(config);
        _layer = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config, device, dtype)).ToArray());
        RegisterComponents();
    }

    /// <summary>Runs every layer on (B, T, H) under the additive <paramref name="bias"/> (B, 1, 1, T).</summary>
    public override Tensor forward(Tensor hidden, Tensor bias)
    {
        var current = hidden.alias();
        foreach (var layer in _layer)
        {
            using var previous = current;
            current = layer.forward(previous, bias);
        }
        return current;
    }
}
