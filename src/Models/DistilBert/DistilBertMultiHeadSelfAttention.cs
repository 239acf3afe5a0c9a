using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.DistilBert;

/// <summary>Mirrors transformers' DistilBERT <c>MultiHeadSelfAttention</c>: q_lin/k_lin/v_lin, scaled dot-product attention, out_lin.</summary>
public sealed class DistilBertMultiHeadSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    [ComponentName(Name = "q_lin")]
    private readonly Linear _qLin;

    [ComponentName(Name = "k_lin")]
    private readonly Linear _kLin;

    [ComponentName(Name = "v_lin")]
    private readonly Linear _vLin;

    [ComponentName(Name = "out_lin")]
    private readonly Linear _outLin;

    private readonly int _heads;
    private readonly int _headDim;
    private readonly double _attentionDropout;

    /// <summary>Creates the projections for <paramref name="config"/>.</summary>
    public DistilBertMultiHeadSelfAttention(DistilBertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(DistilBertMultiHeadSelfAttention))
    {
        ArgumentNullException.ThrowIfNull(config);
        _qLin = nn.Linear(config.Dim, config.Dim, device: device, dtype: dtype);
        _kLin = nn.Linear(config.Dim, config.Dim, device: device, dtype: dtype);
        _vLin = nn.Linear(config.Dim, config.Dim, device: device, dtype: dtype);
        _outLin = nn.Linear(config.Dim, config.Dim, device: device, dtype: dtype);
        RegisterComponents();
        _heads = config.NHeads;
        _headDim = config.HeadDim;
        _attentionDropout = config.AttentionDropout;
    }

    /// <summary>Attends over (B, T, dim) under the additive <paramref name="bias"/> (B, 1, 1, T); returns (B, T, dim).</summary>
    public override Tensor forward(Tensor hidden, Tensor bias)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        var (b, t) = (hidden.shape[0], hidden.shape[1]);
        using var q = SplitHeads(_qLin.forward(hidden), b, t); // (B, nh, T, hs)
        using var k = SplitHeads(_kLin.forward(hidden), b, t); // (B, nh, T, hs)
        using var v = SplitHeads(_vLin.forward(hidden), b, t); // (B, nh, T, hs)
        // HF divides q by sqrt(hs) and fills masked scores with finfo.min; SDPA with the additive bias computes the same.
        using var context = nn.functional.scaled_dot_product_attention(q, k, v, bias, training ? _attentionDropout : 0.0); // (B, nh, T, hs)
        using var merged = context.transpose(1, 2); // (B, T, nh, hs)
        using var flat = merged.reshape(b, t, _heads * _headDim); // (B, T, dim)
        return _outLin.forward(flat);
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
