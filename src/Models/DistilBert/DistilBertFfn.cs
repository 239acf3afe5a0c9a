using Skim.Models.Encoders;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.DistilBert;

/// <summary>Mirrors transformers' DistilBERT <c>FFN</c>: lin1, activation, lin2, dropout.</summary>
public sealed class DistilBertFfn : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "lin1")]
    private readonly Linear _lin1;

    [ComponentName(Name = "lin2")]
    private readonly Linear _lin2;

    [ComponentName(Name = "dropout")]
    private readonly Dropout _dropout;

    private readonly string _activation;

    /// <summary>Creates the block for <paramref name="config"/>.</summary>
    public DistilBertFfn(DistilBertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(DistilBertFfn))
    {
        ArgumentNullException.ThrowIfNull(config);
        _lin1 = nn.Linear(config.Dim, config.HiddenDim, device: device, dtype: dtype);
        _lin2 = nn.Linear(config.HiddenDim, config.Dim, device: device, dtype: dtype);
        _dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
        _activation = config.Activation;
    }

    /// <summary>Maps (B, T, dim) through (B, T, hidden_dim) back to (B, T, dim).</summary>
    public override Tensor forward(Tensor hidden)
    {
        using var widened = _lin1.forward(hidden); // (B, T, hidden_dim)
        using var activated = EncoderActivation.Apply(_activation, widened);
        using var narrowed = _lin2.forward(activated); // (B, T, dim)
        return _dropout.forward(narrowed);
    }
}
