using Skim.Core;
using Skim.Models.Devices;
using static TorchSharp.torch;

namespace Skim.Models.Encoders;

/// <summary>How token states become one embedding per text.</summary>
public enum PoolingMode
{
    /// <summary>Mask-weighted mean of the last hidden state (sentence-transformers, NGAME); padding does not count.</summary>
    Mean,

    /// <summary>The last hidden state of the first token, <c>[CLS]</c> (DEXML).</summary>
    Cls,
}

/// <summary>Pooling and normalisation of encoder outputs, as sentence-transformers, NGAME and DEXML compute them.</summary>
public static class Pooling
{
    /// <summary>Parses "mean" or "cls" (the <c>--pooling</c> option).</summary>
    public static PoolingMode Parse(string value, string option = "--pooling") => value?.Trim().ToLowerInvariant() switch
    {
        "mean" => PoolingMode.Mean,
        "cls" => PoolingMode.Cls,
        _ => throw new SkimConfigException($"{option} '{value}': expected mean or cls"),
    };

    /// <summary>Pools a last hidden state.</summary>
    /// <param name="hidden">(B, T, H) last hidden state.</param>
    /// <param name="attentionMask">(B, T) 0/1 mask.</param>
    /// <param name="mode">The pooling.</param>
    /// <returns>(B, H) pooled states, in <paramref name="hidden"/>'s dtype.</returns>
    public static Tensor Apply(Tensor hidden, Tensor attentionMask, PoolingMode mode) => mode switch
    {
        PoolingMode.Mean => Mean(hidden, attentionMask),
        PoolingMode.Cls => hidden.select(1, 0).alias(), // (B, H)
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown pooling"),
    };

    /// <summary>
    /// sum_t(mask · h) / max(sum_t mask, 1e-9), accumulated in float32 whatever the model dtype so
    /// that half-precision models do not lose the sum (a row of padding only gives zeros, not NaN).
    /// </summary>
    /// <param name="hidden">(B, T, H) last hidden state.</param>
    /// <param name="attentionMask">(B, T) 0/1 mask.</param>
    /// <returns>(B, H) mean-pooled states in <paramref name="hidden"/>'s dtype.</returns>
    public static Tensor Mean(Tensor hidden, Tensor attentionMask)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(attentionMask);
        using var scope = NewDisposeScope();
        using var s = new HeldScalars(); // every batch: see HeldScalars
        var states = hidden.to_type(ScalarType.Float32);
        var mask = attentionMask.to_type(ScalarType.Float32).unsqueeze(-1); // (B, T, 1)
        var summed = (states * mask).sum(1); // (B, H)
        var counts = mask.sum(1).clamp_min(s[1e-9]); // (B, 1)
        return (summed / counts).to_type(hidden.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>L2-normalises rows: x / max(‖x‖₂, 1e-12), as <c>torch.nn.functional.normalize</c>.</summary>
    /// <param name="embeddings">(B, D) embeddings.</param>
    /// <returns>(B, D) unit rows.</returns>
    public static Tensor Normalize(Tensor embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        return nn.functional.normalize(embeddings, p: 2.0, dim: 1, eps: 1e-12);
    }
}
