using static TorchSharp.torch;

namespace Skim.Distill.FineTuning;

/// <summary>
/// The supervised fine-tuning loss: token cross-entropy over response tokens only. Targets of
/// prompt and padding positions hold <see cref="IgnoreIndex"/> (PyTorch's ignore_index), so they add
/// nothing to the sum and are not counted.
/// </summary>
public static class SftLoss
{
    /// <summary>The target value of positions without a loss (prompt, padding), as in PyTorch and HF.</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// Returns the summed cross-entropy (a float32 scalar) of <paramref name="logits"/> (B, T, V)
    /// against <paramref name="targets"/> (B, T), skipping <see cref="IgnoreIndex"/> targets. The
    /// caller divides by the number of counted targets of the whole global batch, so that every
    /// response token weighs the same whatever micro batch it falls in.
    /// </summary>
    public static Tensor Sum(Tensor logits, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        var vocabulary = logits.shape[2];
        // bf16 logits are widened first: a softmax over tens of thousands of entries loses too much in bf16.
        var flat = logits.reshape(-1, vocabulary); // (B·T, V)
        if (flat.dtype != ScalarType.Float32)
        {
            flat = flat.to_type(ScalarType.Float32);
        }
        var loss = nn.functional.cross_entropy(flat, targets.reshape(-1), ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum); // ()
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Returns the mean cross-entropy per counted target (NaN when none is counted).</summary>
    public static double Mean(Tensor logits, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        using var sum = Sum(logits, targets);
        using var counted = targets.ne(IgnoreIndex).sum();
        var count = counted.item<long>();
        return count == 0 ? double.NaN : sum.item<float>() / (double)count;
    }
}
