using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>Mirrors transformers' <c>BertLayer</c> (post-LayerNorm): attention, then the feed-forward block.</summary>
public sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "attention")]
    private readonly BertAttention _attention;

    [ComponentName(Name = "intermediate")]
    private readonly BertIntermediate _intermediate;

    [ComponentName(Name = "output")]
    private readonly BertOutput _output;

    /// <summary>Creates the layer for <paramref name="config"/>.</summary>
    public BertLayer(BertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertLayer))
    {
        _attention = new BertAttention(config, device, dtype);
        _intermediate = new BertIntermediate(config, device, dtype);
        _output = new BertOutput(config, config.IntermediateSize, device, dtype);
        RegisterComponents();
    }

    /// <summary>Maps (B, T, H) to (B, T, H) under the additive <paramref name="bias"/> (B, 1, 1, T).</summary>
    public override Tensor forward(Tensor hidden, Tensor bias)
    {
        using var attended = _attention.forward(hidden, bias); // (B, T, H)
        using var widened = _intermediate.forward(attended); // (B, T, intermediate)
        return _output.forward(widened, attended);
    }
}
