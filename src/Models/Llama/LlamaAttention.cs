using Skim.Models.Generation;
using Skim.Models.Lora;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Llama;

/// <summary>
/// Mirrors transformers' <c>LlamaAttention</c> (and <c>Qwen2Attention</c>, <c>MistralAttention</c>):
/// grouped-query attention with rotary positions, scaled by 1/sqrt(head_dim) inside
/// scaled-dot-product attention. Weights <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c>;
/// Qwen2 adds q/k/v biases.
/// </summary>
internal sealed class LlamaAttention : nn.Module, ILoraHost
{
    private readonly int _layerIndex;
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;

    [ComponentName(Name = "q_proj")]
    private nn.Module<Tensor, Tensor> _qProj;

    [ComponentName(Name = "k_proj")]
    private nn.Module<Tensor, Tensor> _kProj;

    [ComponentName(Name = "v_proj")]
    private nn.Module<Tensor, Tensor> _vProj;

    [ComponentName(Name = "o_proj")]
    private nn.Module<Tensor, Tensor> _oProj;

    public LlamaAttention(LlamaConfig config, int layerIndex, Device? device = null, ScalarType? dtype = null)
        : base(nameof(LlamaAttention))
    {
        _layerIndex = layerIndex;
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        _qProj = nn.Linear(config.HiddenSize, _heads * _headDim, config.QkvBias, device, dtype);
        _kProj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, config.QkvBias, device, dtype);
        _vProj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, config.QkvBias, device, dtype);
        _oProj = nn.Linear(_heads * _headDim, config.HiddenSize, config.OutputBias, device, dtype);
        RegisterComponents();
    }

    /// <summary>
    /// Attends from <paramref name="hidden"/> (B, T, H) to the cached and new positions.
    /// <paramref name="mask"/> is null for plain causal attention without a cache, else a boolean
    /// (B, 1, T, S) tensor where true means "may attend". <paramref name="cos"/> and
    /// <paramref name="signedSin"/> are the rotary tables of <see cref="LlamaRotaryEmbedding.Tables"/>.
    /// </summary>
    public Tensor forward(Tensor hidden, Tensor cos, Tensor signedSin, Tensor? mask, KvCache? cache)
    {
        var batch = hidden.shape[0];
        var time = hidden.shape[1];
        using var q0 = _qProj.forward(hidden); // (B, T, nh*hs)
        using var k0 = _kProj.forward(hidden); // (B, T, nkv*hs)
        using var v0 = _vProj.forward(hidden); // (B, T, nkv*hs)
        using var q1 = q0.view(batch, time, _heads, _headDim).transpose(1, 2); // (B, nh, T, hs)
        using var k1 = k0.view(batch, time, _kvHeads, _headDim).transpose(1, 2); // (B, nkv, T, hs)
        using var v1 = v0.view(batch, time, _kvHeads, _headDim).transpose(1, 2); // (B, nkv, T, hs)
        using var q = LlamaRotaryEmbedding.Apply(q1, cos, signedSin); // (B, nh, T, hs)
        using var kNew = LlamaRotaryEmbedding.Apply(k1, cos, signedSin); // (B, nkv, T, hs)

        Tensor keys, values;
        if (cache is null)
        {
            keys = kNew.alias();
            values = v1.alias();
        }
        else
        {
            (keys, values) = cache.Append(_layerIndex, kNew, v1); // (B, nkv, S, hs)
        }
        using var attended = Attend(q, keys, values, mask); // (B, nh, T, hs)
        keys.Dispose();
        values.Dispose();
        using var merged = attended.transpose(1, 2).reshape(batch, time, _heads * _headDim); // (B, T, nh*hs)
        return _oProj.forward(merged); // (B, T, H)
    }

    /// <inheritdoc />
    public IEnumerable<string> ProjectionNames => ["q_proj", "k_proj", "v_proj", "o_proj"];

    /// <inheritdoc />
    public void ReplaceProjection(string name, Func<nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>> replace)
    {
        switch (name)
        {
            case "q_proj":
                _qProj = LoraHost.Swap(this, name, _qProj, replace);
                break;
            case "k_proj":
                _kProj = LoraHost.Swap(this, name, _kProj, replace);
                break;
            case "v_proj":
                _vProj = LoraHost.Swap(this, name, _vProj, replace);
                break;
            case "o_proj":
                _oProj = LoraHost.Swap(this, name, _oProj, replace);
                break;
            default:
                throw new ArgumentException($"LlamaAttention has no projection '{name}'", nameof(name));
        }
    }

    // Grouped-query attention: each key/value head serves nh/nkv consecutive query heads (HF's
    // repeat_kv). Rather than copying every cached key and value nh/nkv times per step (a third of a
    // batch-32 decoding step at SmolLM's shape), the query heads of a group are folded into the query
    // axis, (B, nh, T, hs) -> (B, nkv, g·T, hs), so one SDPA call attends to the unrepeated cache.
    // Query row g_i·T + t of a group is position t, so the (B, 1, T, S) mask is tiled g times.
    private Tensor Attend(Tensor q, Tensor keys, Tensor values, Tensor? mask)
    {
        var groups = _heads / _kvHeads;
        if (groups == 1 || (mask is null && q.shape[2] > 1))
        {
            // Plain multi-head attention, or the uncached causal pass, whose implicit causal mask
            // would not survive the folding; there the copy is small next to the pass's matmuls.
            using var kAll = RepeatKv(keys); // (B, nh, S, hs)
            using var vAll = RepeatKv(values); // (B, nh, S, hs)
            // SDPA scales by 1/sqrt(hs), HF's default for these families.
            return mask is null
                ? nn.functional.scaled_dot_product_attention(q, kAll, vAll, is_casual: true)
                : nn.functional.scaled_dot_product_attention(q, kAll, vAll, mask); // (B, nh, T, hs)
        }
        var (b, time) = (q.shape[0], q.shape[2]);
        using var folded = q.reshape(b, _kvHeads, groups * time, _headDim); // (B, nkv, g·T, hs)
        using var tiled = mask is null || time == 1
            ? mask?.alias() // (B, 1, 1, S) broadcasts over the g query rows
            : mask.unsqueeze(2).expand(b, 1, groups, time, mask.shape[3]).reshape(b, 1, groups * time, mask.shape[3]); // (B, 1, g·T, S)
        using var attended = tiled is null
            ? nn.functional.scaled_dot_product_attention(folded, keys, values)
            : nn.functional.scaled_dot_product_attention(folded, keys, values, tiled); // (B, nkv, g·T, hs)
        return attended.reshape(b, _heads, time, _headDim); // (B, nh, T, hs)
    }

    private Tensor RepeatKv(Tensor x)
    {
        if (_heads == _kvHeads)
        {
            return x.alias();
        }
        var groups = _heads / _kvHeads;
        var (b, s) = (x.shape[0], x.shape[2]);
        using var expanded = x.unsqueeze(2).expand(b, _kvHeads, groups, s, _headDim); // (B, nkv, g, S, hs)
        return expanded.reshape(b, _heads, s, _headDim); // (B, nh, S, hs)
    }
}
