using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>Mirrors transformers' <c>BertPooler</c>: tanh(dense(first token)), the NSP-trained "pooler_output".</summary>
public sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "dense")]
    private readonly Linear _dense;

    /// <summary>Creates the pooler for <paramref name="config"/>.</summary>
    public BertPooler(BertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertPooler))
    {
        ArgumentNullException.ThrowIfNull(config);
        _dense = nn.Linear(config.HiddenSize, config.HiddenSize, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Maps the last hidden state (B, T, H) to (B, H).</summary>
    public override Tensor forward(Tensor hidden)
    {
        using var first = hidden.select(1, 0); // (B, H)
        using var projected = _dense.forward(first); // (B, H)
        return projected.tanh();
    }
}
