using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>Mirrors transformers' <c>BertSelfAttention</c> (absolute positions): query/key/value projections and scaled dot-product attention.</summary>
public sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "query")]
    private readonly Linear _query;

    [ComponentName(Name = "key")]
    private readonly Linear _key;

    [ComponentName(Name = "value")]
    private readonly Linear _value;

    private readonly int _heads;
    private readonly int _headDim;
    private readonly double _attentionDropout;

    /// <summary>Creates the projections for <paramref name="config"/>.</summary>
    public BertSelfAttention(BertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertSelfAttention))
    {
        ArgumentNullException.ThrowIfNull(config);
        _query = nn.Linear(config.HiddenSize, config.HiddenSize, device: device, dtype: dtype);
        _key = nn.Linear(config.HiddenSize, config.HiddenSize, device: device, dtype: dtype);
        _value = nn.Linear(config.HiddenSize, config.HiddenSize, device: device, dtype: dtype);
        RegisterComponents();
        _heads = config.NumAttentionHeads;
        _headDim = config.HeadDim;
        _attentionDropout = config.AttentionProbsDropoutProb;
    }

    /// <summary>Attends over the sequence.</summary>
    /// <param name="hidden">(B, T, H) hidden states.</param>
    /// <param name="bias">(B, 1, 1, T) additive attention bias from <see cref="Encoders.AttentionMask.ToAdditiveBias"/>.</param>
    /// <returns>(B, T, H) context vectors.</returns>
    public override Tensor forward(Tensor hidden, Tensor bias)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        var (b, t) = (hidden.shape[0], hidden.shape[1]);
        using var q = SplitHeads(_query.forward(hidden), b, t); // (B, nh, T, hs)
        using var k = SplitHeads(_key.forward(hidden), b, t); // (B, nh, T, hs)
        using var v = SplitHeads(_value.forward(hidden), b, t); // (B, nh, T, hs)
        // SDPA scales by 1/sqrt(hs), as HF's eager path does.
        using var context = nn.functional.scaled_dot_product_attention(q, k, v, bias, training ? _attentionDropout : 0.0); // (B, nh, T, hs)
        using var merged = context.transpose(1, 2); // (B, T, nh, hs)
        return merged.reshape(b, t, _heads * _headDim); // (B, T, H)
    }

    private Tensor SplitHeads(Tensor projected, long b, long t)
    {
        using (projected)
        {
            using var heads = projected.view(b, t, _heads, _headDim); // (B, T, nh, hs)
            return heads.transpose(1, 2); // (B, nh, T, hs)
        }
    }
}
