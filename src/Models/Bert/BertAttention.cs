using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>Mirrors transformers' <c>BertAttention</c>: self-attention (<c>self</c>) followed by its output block (<c>output</c>).</summary>
public sealed class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "self")]
    private readonly BertSelfAttention _self;

    [ComponentName(Name = "output")]
    private readonly BertOutput _output;

    /// <summary>Creates the block for <paramref name="config"/>.</summary>
    public BertAttention(BertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertAttention))
    {
        _self = new BertSelfAttention(config, device, dtype);
        _output = new BertOutput(config, config.HiddenSize, device, dtype);
        RegisterComponents();
    }

    /// <summary>Runs attention on <paramref name="hidden"/> (B, T, H) with the additive <paramref name="bias"/> (B, 1, 1, T).</summary>
    public override Tensor forward(Tensor hidden, Tensor bias)
    {
        using var context = _self.forward(hidden, bias); // (B, T, H)
        return _output.forward(context, hidden);
    }
}
