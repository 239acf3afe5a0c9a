using static TorchSharp.torch;

namespace Skim.XcTrain.Losses;

/// <summary>
/// Boundary checks shared by the losses. A wrong mask does not fail inside the maths, it trains the
/// wrong objective, so shapes and the positive/sampled sets are checked before anything is computed;
/// the checks read a few booleans back from the device, which is small next to an encoder step.
/// </summary>
internal static class LossInputs
{
    /// <summary>DEXML's positive test: column c is a positive of row i when its relevance exceeds this.</summary>
    public const double PositiveThreshold = 1e-8;

    /// <summary>Throws unless <paramref name="scores"/> is a floating-point (B, C) matrix with B, C ≥ 1.</summary>
    public static void CheckScores(Tensor scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.dim() != 2 || scores.shape[0] < 1 || scores.shape[1] < 1)
        {
            throw new ArgumentException($"scores: expected a (B, C) matrix with B, C >= 1, got {ShapeText(scores)}", nameof(scores));
        }
        if (!scores.is_floating_point())
        {
            throw new ArgumentException($"scores: expected a floating-point tensor, got {scores.dtype}", nameof(scores));
        }
    }

    /// <summary>Throws unless <paramref name="other"/> has the shape of <paramref name="scores"/>.</summary>
    public static void CheckSameShape(Tensor scores, Tensor other, string name)
    {
        ArgumentNullException.ThrowIfNull(other, name);
        if (!other.shape.SequenceEqual(scores.shape))
        {
            throw new ArgumentException($"{name}: expected the shape of scores {ShapeText(scores)}, got {ShapeText(other)}", name);
        }
    }

    /// <summary>
    /// Returns the (B, C) boolean mask of sampled columns (value &gt; 0.5) after checking that every row
    /// samples at least one column and, when <paramref name="positives"/> is given, only positives.
    /// </summary>
    public static Tensor SampledMask(Tensor sampled, Tensor? positives)
    {
        using var scope = NewDisposeScope();
        using var s = new Skim.Models.Devices.HeldScalars(); // every dual-encoder step: see HeldScalars
        var chosen = sampled.gt(s[0.5]); // (B, C)
        var counts = chosen.sum(1); // (B)
        if (counts.min().item<long>() < 1)
        {
            var row = counts.eq(0).nonzero()[0, 0].item<long>();
            throw new ArgumentException($"sampled: row {row} has no sampled positive; every row needs at least one", nameof(sampled));
        }
        if (positives is not null)
        {
            var stray = chosen.logical_and(positives.logical_not()); // (B, C)
            if (stray.any().item<bool>())
            {
                var at = stray.nonzero(); // (n, 2)
                throw new ArgumentException(
                    $"sampled: column {at[0, 1].item<long>()} of row {at[0, 0].item<long>()} is sampled but its relevance is not above {PositiveThreshold}",
                    nameof(sampled));
            }
        }
        return chosen.MoveToOuterDisposeScope();
    }

    /// <summary>Formats a tensor's shape as numpy does, e.g. <c>(8, 40)</c>.</summary>
    public static string ShapeText(Tensor tensor) => $"({string.Join(", ", tensor.shape)})";
}
