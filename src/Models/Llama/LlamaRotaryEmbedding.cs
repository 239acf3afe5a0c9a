using static TorchSharp.torch;

namespace Skim.Models.Llama;

/// <summary>
/// Mirrors transformers' <c>LlamaRotaryEmbedding</c> and <c>apply_rotary_pos_emb</c> in the
/// rotate-half layout: the head is split into two halves (not interleaved pairs) and position p turns
/// pair (i, i + d/2) by p · θ^(-2i/d). It holds no state-dict entries (HF's <c>inv_freq</c> is a
/// non-persistent buffer), so it is a plain class rather than a module.
/// </summary>
internal sealed class LlamaRotaryEmbedding
{
    private readonly float[] _inverseFrequencies;

    public LlamaRotaryEmbedding(int headDim, double theta)
    {
        // HF computes 1 / θ^(arange(0, d, 2) / d) in float32; double then rounding matches to the last bit or one ulp.
        _inverseFrequencies = new float[headDim / 2];
        for (var i = 0; i < _inverseFrequencies.Length; i++)
        {
            _inverseFrequencies[i] = (float)(1.0 / Math.Pow(theta, 2.0 * i / headDim));
        }
    }

    /// <summary>Returns cos and sin tables of shape (B, T, head_dim) in <paramref name="dtype"/> for integer positions (B, T).</summary>
    public (Tensor Cos, Tensor Sin) Tables(Tensor positionIds, ScalarType dtype)
    {
        using var inverse = tensor(_inverseFrequencies, device: positionIds.device); // (d/2)
        using var positions = positionIds.to_type(ScalarType.Float32).unsqueeze(-1); // (B, T, 1)
        using var angles = positions * inverse; // (B, T, d/2)
        using var both = cat([angles, angles], -1); // (B, T, d)
        using var cos = both.cos();
        using var sin = both.sin();
        return (cos.to_type(dtype), sin.to_type(dtype));
    }

    /// <summary>Rotates <paramref name="x"/> (B, heads, T, d) by tables (B, T, d).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var c = cos.unsqueeze(1); // (B, 1, T, d)
        using var s = sin.unsqueeze(1); // (B, 1, T, d)
        using var rotated = RotateHalf(x); // (B, heads, T, d)
        using var a = x * c;
        using var b = rotated * s;
        return a + b;
    }

    // (x1, x2) -> (-x2, x1) over the two halves of the last dimension.
    private static Tensor RotateHalf(Tensor x)
    {
        var half = x.shape[^1] / 2;
        using var x1 = x.narrow(-1, 0, half); // (B, heads, T, d/2)
        using var x2 = x.narrow(-1, half, half); // (B, heads, T, d/2)
        using var negated = x2.neg();
        return cat([negated, x1], -1); // (B, heads, T, d)
    }
}
