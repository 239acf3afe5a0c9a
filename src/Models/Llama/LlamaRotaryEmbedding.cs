using Skim.Models.Devices;
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

    /// <summary>
    /// Returns the cos table and a sign-folded sin table, both (B, 1, T, head_dim) in
    /// <paramref name="dtype"/>, for integer positions (B, T). The sin table's first half is negated
    /// so that <see cref="Apply"/> can rotate with one roll instead of HF's narrow/neg/cat.
    /// </summary>
    public (Tensor Cos, Tensor SignedSin) Tables(Tensor positionIds, ScalarType dtype)
    {
        using var inverse = tensor(_inverseFrequencies, device: positionIds.device); // (d/2)
        using var floatPositions = positionIds.to_type(ScalarType.Float32);
        using var positions = floatPositions.unsqueeze(-1); // (B, T, 1)
        using var angles = positions * inverse; // (B, T, d/2)
        using var cosHalf = angles.cos();
        using var sinHalf = angles.sin();
        using var negatedSinHalf = sinHalf.neg();
        using var cos = cat([cosHalf, cosHalf], -1); // (B, T, d)
        using var signedSin = cat([negatedSinHalf, sinHalf], -1); // (B, T, d)
        using var cosCast = cos.to_type(dtype);
        using var sinCast = signedSin.to_type(dtype);
        return (cosCast.unsqueeze(1), sinCast.unsqueeze(1)); // (B, 1, T, d) each
    }

    /// <summary>
    /// Rotates <paramref name="x"/> (B, heads, T, d) by tables from <see cref="Tables"/>:
    /// x·cos + rotate_half(x)·sin, where rotate_half(x) = (−x₂, x₁) equals roll(x, d/2)·(−1, +1) and
    /// the sign lives in <paramref name="signedSin"/>. Elementwise the same products and sum as HF's.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor signedSin)
    {
        using var rolled = x.roll(x.shape[^1] / 2, -1); // (B, heads, T, d): (x₂, x₁)
        using var a = x * cos;
        using var b = rolled * signedSin;
        using var s = new HeldScalars(); // every layer of every forward pass: see HeldScalars
        return a.add(b, s[1]); // (B, heads, T, d)
    }
}
