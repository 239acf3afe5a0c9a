using Skim.Models.Devices;
using static TorchSharp.torch;

namespace Skim.Models.Llama;

/// <summary>
/// Position ids and the 4-D attention mask for a decoder pass over T new tokens after P cached ones,
/// following HF's conventions for left-padded batches.
/// </summary>
internal static class AttentionMasks
{
    /// <summary>
    /// Returns rotary positions (B, T): cumsum(mask) − 1 (padding clamped to position 1, as HF does),
    /// so the first real token of a left-padded row is position 0; without a mask, P … P + T − 1.
    /// </summary>
    public static Tensor PositionIds(Tensor? attentionMask, long batch, long past, long time, Device device)
    {
        using var s = new HeldScalars(); // every forward pass: see HeldScalars
        if (attentionMask is null)
        {
            using var range = arange(s.Integer(past), s.Integer(past + time), s.Integer(1), ScalarType.Int64, device); // (T)
            return range.unsqueeze(0).expand(batch, time).contiguous(); // (B, T)
        }
        using var mask = attentionMask.to_type(ScalarType.Int64); // (B, S)
        using var cumulative = mask.cumsum(-1); // (B, S)
        using var positions = cumulative.sub(s.Integer(1));
        using var isPad = mask.eq(s.Integer(0));
        using var filled = positions.masked_fill(isPad, s.Integer(1));
        return filled.narrow(1, past, time).contiguous(); // (B, T)
    }

    /// <summary>
    /// Returns a boolean (B, 1, T, P + T) mask (true = may attend) that is causal and hides padded
    /// keys, or null when plain causal attention suffices (no cache, no mask). A padded query still
    /// sees itself, so no row is fully masked (a fully masked row would make softmax NaN); its output
    /// is never used.
    /// </summary>
    public static Tensor? CausalPadding(Tensor? attentionMask, long batch, long past, long time, Device device)
    {
        if (attentionMask is null && past == 0)
        {
            return null;
        }
        var total = past + time;
        using var s = new HeldScalars(); // every forward pass: see HeldScalars
        using var queries = arange(s.Integer(past), s.Integer(total), s.Integer(1), ScalarType.Int64, device).unsqueeze(1); // (T, 1)
        using var keys = arange(s.Integer(0), s.Integer(total), s.Integer(1), ScalarType.Int64, device).unsqueeze(0); // (1, S)
        using var causal = keys.le(queries); // (T, S)
        if (attentionMask is null)
        {
            return causal.unsqueeze(0).unsqueeze(0).expand(batch, 1, time, total); // (B, 1, T, S)
        }
        using var self = keys.eq(queries); // (T, S)
        using var valid = attentionMask.to_type(ScalarType.Bool).unsqueeze(1).unsqueeze(1); // (B, 1, 1, S)
        using var visible = valid.logical_or(self); // (B, 1, T, S)
        return visible.logical_and(causal); // (B, 1, T, S)
    }
}
