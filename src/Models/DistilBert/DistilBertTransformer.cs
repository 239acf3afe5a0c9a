using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.DistilBert;

/// <summary>Mirrors transformers' DistilBERT <c>Transformer</c>: the stack <c>layer.N</c>.</summary>
public sealed class DistilBertTransformer : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "layer")]
    private readonly ModuleList<DistilBertTransformerBlock> _layer;

    /// <summary>Creates <see cref="DistilBertConfig.NLayers"/> blocks.</summary>
    public DistilBertTransformer(DistilBertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(DistilBertTransformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        _layer = nn.ModuleList(Enumerable.Range(0, config.NLayers).Select(_ => new DistilBertTransformerBlock(config, device, dtype)).ToArray());
        RegisterComponents();
    }

    /// <summary>Runs every block on (B, T, dim) under the additive <paramref name="bias"/> (B, 1, 1, T).</summary>
    public override Tensor forward(Tensor hidden, Tensor bias)
    {
        var current = hidden.alias();
        foreach (var block in _layer)
        {
            using var previous = current;
            current = block.forward(previous, bias);
        }
        return current;
    }
}
