using Skim.Models.Devices;
using static TorchSharp.torch;

namespace Skim.XcTrain.Losses;

/// <summary>
/// NGAME's triplet margin losses with online hard negative mining (<c>libs/loss.py</c>):
/// <c>TripletMarginLossOHNM</c> for the M1 siamese encoder and <c>TripletMarginLossOHNMMulti</c> for
/// the M-IV classifier, as pure functions of a cosine score matrix.
/// </summary>
/// <remarks>
/// <para>A column is a negative of row i where its target is 0, and a positive where it is non-zero
/// (the targets are 0/1). The hardest negatives are those with the highest scores; nothing is
/// detached, so the softmax weights get gradient too, as in NGAME.</para>
/// <para>Decision (both losses): NGAME takes a fixed top-k of the negatives, and when a row has fewer
/// than k negative columns (a tiny batch, such as the last one of an epoch with
/// <c>drop_last=False</c>) its top-k runs into the masked positives, which then act as negatives
/// (M1: <c>topk</c> on the −10 fill, with the positive's own score gathered back), or
/// <c>torch.topk</c> fails when k exceeds the columns. Here k is clamped per row to the negatives that
/// exist: the missing slots add no hinge, take no softmax weight and are not counted in the mean.
/// Whenever every row has at least k negatives, which is every realistic batch, the result is NGAME's.</para>
/// </remarks>
public static class TripletLosses
{
    /// <summary>
    /// NGAME M1 <c>TripletMarginLossOHNM</c> on a (B, B) in-batch matrix whose diagonal holds each
    /// row's positive: for the k hardest negatives n of row i, <c>h_in = max(0, S_in − S_ii + margin)</c>,
    /// <c>p_in = softmax_n(S_in/τ · 1[h_in ≠ 0])</c>, loss = mean over (i, n) of <c>h_in p_in</c>.
    /// </summary>
    /// <remarks>
    /// <para>NGAME QUIRK, kept: a non-violating negative (h = 0) gets logit 0 in the softmax, not −∞, so it
    /// still takes weight e^0 from the violators. Duplicate labels in the batch are positives (target 1)
    /// off the diagonal and are never negatives.</para>
    /// <para>A row with fewer than <paramref name="negatives"/> negative columns uses those it has (see the
    /// type's remarks); the mean is over the triplets that exist, B·k when every row has k, and a batch
    /// without any negative gives 0.</para>
    /// </remarks>
    /// <param name="scores">(B, B) cosine similarities of document i to the label sampled for document j.</param>
    /// <param name="targets">(B, B) 0/1 with 1 where label j is a positive of document i; 1 on the diagonal.</param>
    /// <param name="margin">Hinge margin. Defaults to 0.3.</param>
    /// <param name="negatives">k, the hardest negatives per row. Defaults to 10.</param>
    /// <param name="tau">Softmax temperature τ &gt; 0. Defaults to 0.1.</param>
    /// <param name="applySoftmax">Weight the hinges by the softmax (NGAME's <c>agressive_loss</c>); else a plain mean. Defaults to true.</param>
    /// <returns>The scalar loss.</returns>
    /// <exception cref="ArgumentException">The scores are not square, the targets differ in shape, or a diagonal target is 0.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="negatives"/> or <paramref name="tau"/> is not positive.</exception>
    public static Tensor OnlineHardNegativeMining(Tensor scores, Tensor targets, double margin = 0.3, int negatives = 10, double tau = 0.1, bool applySoftmax = true)
    {
        LossInputs.CheckScores(scores);
        LossInputs.CheckSameShape(scores, targets, nameof(targets));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(negatives);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tau);
        if (scores.shape[0] != scores.shape[1])
        {
            throw new ArgumentException($"scores: the in-batch loss reads each row's positive on the diagonal, so it needs a square matrix, got {LossInputs.ShapeText(scores)}", nameof(scores));
        }
        using var scope = NewDisposeScope();
        using var s = new HeldScalars(); // called every training step: see HeldScalars
        if (targets.diagonal().eq(s[0]).any().item<bool>())
        {
            throw new ArgumentException("targets: every diagonal entry must be 1, the row's own positive", nameof(targets));
        }
        var positive = scores.diagonal().unsqueeze(1); // (B, 1)
        var (hardest, present) = HardestNegatives(scores, targets.eq(s[0]), negatives, s); // (B, k), (B, k)
        var hinge = hardest.sub(positive).add(s[margin], s[1]).relu().masked_fill(present.logical_not(), s[0]); // (B, k)
        var terms = applySoftmax ? hinge.mul(ViolatorWeights(hardest, hinge, present, tau, s)) : hinge; // (B, k)
        return MeanOverPresent(terms, present.sum(), s).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// NGAME M-IV <c>TripletMarginLossOHNMMulti</c> on a (B, U) matrix over the batch's label set U:
    /// the <paramref name="positives"/> hardest (lowest-scoring) positives p and the
    /// <paramref name="negatives"/> hardest negatives n of each row give
    /// <c>h_ipn = max(0, S_in − S_ip + margin)</c>, <c>q = softmax_n(h, zeros → −100)</c>, and the loss
    /// is the mean of <c>q·h</c> over B × positives × negatives.
    /// </summary>
    /// <remarks>
    /// <para>A row with fewer positives is padded, as in NGAME (which pads with score 100): a padded
    /// positive adds no hinge but is still counted in the mean.</para>
    /// <para>Decision, NGAME QUIRK not reproduced: NGAME reads the positives from the diagonal whenever
    /// |U| happens to equal B, which trains the wrong pairs for such a batch (U is a label set, not one
    /// label per row). Here the positives always come from <paramref name="targets"/>.</para>
    /// <para>A row with fewer than <paramref name="negatives"/> negative columns uses those it has (see the
    /// type's remarks), and the mean counts positives × the negatives that exist.</para>
    /// </remarks>
    /// <param name="scores">(B, U) cosine similarities of each document to each label of the batch set.</param>
    /// <param name="targets">(B, U) 0/1 ground truth.</param>
    /// <param name="margin">Hinge margin. Defaults to 0.2.</param>
    /// <param name="positives">Hardest positives per row. Defaults to 3.</param>
    /// <param name="negatives">Hardest negatives per row. Defaults to 5.</param>
    /// <returns>The scalar loss.</returns>
    /// <exception cref="ArgumentException">The targets differ in shape from the scores.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="positives"/> or <paramref name="negatives"/> is not positive.</exception>
    public static Tensor OnlineHardNegativeMiningMulti(Tensor scores, Tensor targets, double margin = 0.2, int positives = 3, int negatives = 5)
    {
        LossInputs.CheckScores(scores);
        LossInputs.CheckSameShape(scores, targets, nameof(targets));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(positives);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(negatives);
        using var scope = NewDisposeScope();
        using var s = new HeldScalars(); // called every training step: see HeldScalars
        var isPositive = targets.ne(s[0]); // (B, U)
        var (hardestPositives, positivePresent) = HardestPositives(scores, isPositive, positives, s); // (B, P), (B, P)
        var (hardestNegatives, negativePresent) = HardestNegatives(scores, isPositive.logical_not(), negatives, s); // (B, N), (B, N)
        var present = positivePresent.unsqueeze(2).logical_and(negativePresent.unsqueeze(1)); // (B, P, N)
        var violation = hardestNegatives.unsqueeze(1).sub(hardestPositives.unsqueeze(2)).add(s[margin], s[1]); // (B, P, N)
        var hinge = violation.relu().masked_fill(present.logical_not(), s[0]); // (B, P, N)

        // NGAME's weights: a softmax of the hinges themselves over the negatives, zeros sent to −100.
        var weights = hinge.masked_fill(hinge.eq(s[0]), s[-100.0]).softmax(2); // (B, P, N)
        var triplets = negativePresent.sum().mul(s.Integer(positives)); // () padded positives count, as in NGAME
        return MeanOverPresent(hinge.mul(weights), triplets, s).MoveToOuterDisposeScope();
    }

    // The k highest-scoring negative columns of each row, k = min(negatives, columns): their scores
    // (B, k) and whether each slot holds a real negative (B, k). Non-negatives are filled with −∞ for
    // the selection only, so the real negatives come first and a short row's spare slots are flagged.
    private static (Tensor Scores, Tensor Present) HardestNegatives(Tensor scores, Tensor isNegative, int negatives, HeldScalars s)
    {
        var width = (int)Math.Min(negatives, scores.shape[1]);
        var candidates = scores.masked_fill(isNegative.logical_not(), s[double.NegativeInfinity]); // (B, C)
        var (_, picked) = candidates.topk(width, 1); // (B, k)
        return (scores.gather(1, picked), isNegative.gather(1, picked)); // (B, k), (B, k)
    }

    // The lowest-scoring positives of each row, as HardestNegatives with the order reversed.
    private static (Tensor Scores, Tensor Present) HardestPositives(Tensor scores, Tensor isPositive, int positives, HeldScalars s)
    {
        var width = (int)Math.Min(positives, scores.shape[1]);
        var candidates = scores.masked_fill(isPositive.logical_not(), s[double.PositiveInfinity]); // (B, C)
        var (_, picked) = candidates.topk(width, 1, largest: false); // (B, P)
        return (scores.gather(1, picked), isPositive.gather(1, picked)); // (B, P), (B, P)
    }

    // M1's softmax over the hardest negatives with logits S/τ · 1[h ≠ 0] (NGAME: a non-violator keeps
    // logit 0). Missing slots are not negatives at all, so they get −∞; a row with no slot at all gets
    // zeros instead, whose uniform weights multiply hinges that are all 0.
    private static Tensor ViolatorWeights(Tensor hardest, Tensor hinge, Tensor present, double tau, HeldScalars s)
    {
        var logits = hardest.div(s[tau]).mul(hinge.ne(s[0])); // (B, k)
        var masked = logits.masked_fill(present.logical_not(), s[double.NegativeInfinity]); // (B, k)
        var anyPresent = present.any(1, keepdim: true); // (B, 1)
        return masked.masked_fill(anyPresent.logical_not(), s[0]).softmax(1); // (B, k)
    }

    // Σ terms / count, 0 (still attached to the graph) when nothing was counted.
    private static Tensor MeanOverPresent(Tensor terms, Tensor count, HeldScalars s) =>
        terms.sum().div(count.clamp_min(s.Integer(1)).to_type(terms.dtype)); // ()
}
