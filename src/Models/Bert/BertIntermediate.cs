using Skim.Models.Encoders;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>Mirrors transformers' <c>BertIntermediate</c>: the first feed-forward projection and its activation.</summary>
public sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "dense")]
    private readonly Linear _dense;

    private readonly string _activation;

    /// <summary>Creates the layer for <paramref name="config"/>.</summary>
    public BertIntermediate(BertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertIntermediate))
    {
        ArgumentNullException.ThrowIfNull(config);
        _dense = nn.Linear(config.HiddenSize, config.IntermediateSize, device: device, dtype: dtype);
        RegisterComponents();
        _activation = config.HiddenAct;
    }

    /// <summary>Maps (B, T, H) to (B, T, intermediate).</summary>
    public override Tensor forward(Tensor hidden)
    {
        using var projected = _dense.forward(hidden); // (B, T, intermediate)
        return EncoderActivation.Apply(_activation, projected);
    }
}
