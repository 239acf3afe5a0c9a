using Skim.Models.Devices;
using static TorchSharp.torch;

namespace Skim.Models.Encoders;

/// <summary>Turns a 0/1 padding mask into the additive attention bias BERT-family models use.</summary>
public static class AttentionMask
{
    /// <summary>
    /// Builds the bias HF's encoders add to attention scores: 0 where <paramref name="attentionMask"/>
    /// is 1 and the dtype's most negative finite value where it is 0, so padded keys get zero weight
    /// (and a row with no real key gets uniform weights, as in HF, instead of NaN).
    /// </summary>
    /// <param name="attentionMask">(B, T) 0/1 mask of any integer or float dtype.</param>
    /// <param name="dtype">The dtype of the attention scores.</param>
    /// <returns>(B, 1, 1, T) additive bias.</returns>
    public static Tensor ToAdditiveBias(Tensor attentionMask, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(attentionMask);
        using var s = new HeldScalars(); // every forward pass: see HeldScalars
        using var keep = attentionMask.to_type(dtype);
        using var negated = keep.negative();
        using var inverted = negated.add(s[1.0], s[1]); // 1 − mask
        using var bias = inverted.mul(s[MostNegative(dtype)]);
        return bias.unsqueeze(1).unsqueeze(1); // (B, 1, 1, T)
    }

    /// <summary>Gets the most negative finite value of a floating-point dtype (torch.finfo(dtype).min).</summary>
    public static double MostNegative(ScalarType dtype) => dtype switch
    {
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };
}
