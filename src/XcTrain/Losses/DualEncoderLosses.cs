using Skim.Models.Devices;
using static TorchSharp.torch;

namespace Skim.XcTrain.Losses;

/// <summary>
/// DEXML's dual-encoder losses (<c>losses.py</c>, class <c>SimLoss</c>): InfoNCE softmax, decoupled
/// softmax and SoftTopK, as pure functions of one (B, C) score matrix. Sampling the positives, gathering
/// shards and caching gradients stay with the training loop.
/// </summary>
/// <remarks>
/// <para>Inputs, shared by every loss: <c>scores</c> (B, C) are the temperature-scaled similarities
/// s_ic of B queries to C candidate columns; <c>relevance</c> (B, C) is the relevance of column c to
/// row i, and P_i = {c : relevance_ic &gt; 1e-8} are the row's positives; <c>sampled</c> (B, C) is 0/1
/// and marks S_i ⊆ P_i, the positives whose log-probability is trained this step (DEXML draws them with
/// <c>multinomial</c> in proportion to relevance). Every row needs |S_i| ≥ 1. Columns may repeat a label:
/// everything is per column, so a repeated positive label is a positive in each of its columns.</para>
/// <para>Every loss is a sum over rows divided by B (DEXML's <c>loss_reduction</c> is read but unused).
/// With <c>weighted</c>, each positive's log-probability is multiplied by its relevance
/// (<c>loss_weighted</c>).</para>
/// <para>Masked scores are set to −100, not −∞, exactly as DEXML does: e^−100 is still added to a
/// log-sum-exp, which is far below float32 resolution next to any real term, and a row whose columns
/// are all masked stays finite. Masking replaces a value, so a masked column receives no gradient.</para>
/// <para>DEXML's multi-GPU paths (sharded log-sum-exp, all-reduced SoftTopK sums) and its exclusive
/// shard-boundary QUIRK (the last label of a shard never used as a positive) have no counterpart here:
/// the scores of one step are one matrix.</para>
/// </remarks>
public static class DualEncoderLosses
{
    // DEXML's fill for columns removed from a row's pool.
    private const double MaskedScore = -100.0;

    /// <summary>
    /// DEXML <c>softmax</c> (InfoNCE): <c>−(1/B) Σ_i Σ_{p∈S_i} w_ip [s_ip − log Σ_{c=1..C} exp(s_ic)]</c>.
    /// </summary>
    /// <remarks>
    /// The denominator runs over every column, the row's other positives included: they are not masked
    /// for this criterion. There is no division by |S_i| (DEXML samples one positive per row for it).
    /// </remarks>
    /// <param name="scores">(B, C) temperature-scaled similarities.</param>
    /// <param name="sampled">(B, C) 0/1, the sampled positives S_i; at least one per row.</param>
    /// <param name="relevance">(B, C) relevance; needed only when <paramref name="weighted"/>. When
    /// given, sampled columns must be positives.</param>
    /// <param name="weighted">Multiply each log-probability by the column's relevance.</param>
    /// <returns>The scalar loss.</returns>
    /// <exception cref="ArgumentException">A shape differs from (B, C), a row samples nothing or a
    /// non-positive, or <paramref name="weighted"/> is set without <paramref name="relevance"/>.</exception>
    public static Tensor Softmax(Tensor scores, Tensor sampled, Tensor? relevance = null, bool weighted = false)
    {
        LossInputs.CheckScores(scores);
        LossInputs.CheckSameShape(scores, sampled, nameof(sampled));
        if (relevance is not null)
        {
            LossInputs.CheckSameShape(scores, relevance, nameof(relevance));
        }
        else if (weighted)
        {
            throw new ArgumentException("relevance: the weighted softmax multiplies by relevance, so it must be given", nameof(relevance));
        }
        using var scope = NewDisposeScope();
        using var s = new HeldScalars(); // called every training step: see HeldScalars
        var positives = relevance?.gt(s[LossInputs.PositiveThreshold]); // (B, C)
        var (columns, present) = SampledSlots(LossInputs.SampledMask(sampled, positives)); // (B, m), (B, m)
        var logDenominator = scores.logsumexp(1, keepdim: true); // (B, 1)
        var logProbability = scores.gather(1, columns) - logDenominator; // (B, m)
        var weights = weighted ? relevance!.gather(1, columns).to_type(scores.dtype) : ones_like(logProbability); // (B, m)
        return NegativeMeanOverRows(logProbability, present, weights, s).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DEXML <c>decoupled-softmax</c>, its main loss:
    /// <c>−(1/B) Σ_i (1/|S_i|) Σ_{p∈S_i} w_ip log[ e^{s_ip} / (e^{s_ip} + Σ_{n∉P_i} e^{s_in}) ]</c>.
    /// </summary>
    /// <remarks>
    /// Every positive, sampled or not, is set to −100 in the negative pool, so each sampled positive
    /// competes only with the negatives, never with the row's other positives. Computed as DEXML does:
    /// <c>lse_i = logsumexp(s_neg)</c>, <c>log_denom_ip = logaddexp(lse_i, s_ip)</c>.
    /// </remarks>
    /// <param name="scores">(B, C) temperature-scaled similarities.</param>
    /// <param name="relevance">(B, C) relevance; &gt; 1e-8 marks a positive.</param>
    /// <param name="sampled">(B, C) 0/1, the sampled positives S_i ⊆ P_i; at least one per row.</param>
    /// <param name="weighted">Multiply each log-probability by the column's relevance.</param>
    /// <returns>The scalar loss.</returns>
    /// <exception cref="ArgumentException">A shape differs from (B, C), or a row samples nothing or a non-positive.</exception>
    public static Tensor DecoupledSoftmax(Tensor scores, Tensor relevance, Tensor sampled, bool weighted = false)
    {
        LossInputs.CheckScores(scores);
        LossInputs.CheckSameShape(scores, relevance, nameof(relevance));
        LossInputs.CheckSameShape(scores, sampled, nameof(sampled));
        using var scope = NewDisposeScope();
        using var s = new HeldScalars(); // called every training step: see HeldScalars
        var positives = relevance.gt(s[LossInputs.PositiveThreshold]); // (B, C)
        var (columns, present) = SampledSlots(LossInputs.SampledMask(sampled, positives)); // (B, m), (B, m)
        var negativePool = scores.masked_fill(positives, s[MaskedScore]); // (B, C)
        var logNegatives = negativePool.logsumexp(1, keepdim: true); // (B, 1)
        var positiveScores = scores.gather(1, columns); // (B, m)
        var logProbability = positiveScores - logNegatives.logaddexp(positiveScores); // (B, m)
        var weights = PerPositiveWeights(relevance, columns, present, weighted, scores.dtype); // (B, m)
        return NegativeMeanOverRows(logProbability, present, weights, s).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DEXML <c>topk</c> (SoftTopK) with one K for every row:
    /// <c>−(1/B) Σ_i (1/|S_i|) Σ_{p∈S_i} w_ip log σ(α(s_ip + t_i))</c>, where t_i solves
    /// <c>Σ_c σ(α(s_ic + t_i)) = K</c>.
    /// </summary>
    /// <remarks>
    /// <para>The unsampled positives are set to −100 first (as DEXML does), which takes them out of the
    /// soft top-K; t_i is then found by <paramref name="iterations"/> steps of bisection on
    /// [−max_c s_ic − 10/α, −min_c s_ic + 10/α] (see <see cref="SoftTopKThreshold"/>).</para>
    /// <para>Gradient: DEXML differentiates through t with the implicit function theorem in a custom
    /// backward: with z = α(s + t), v = α σ(z)(1 − σ(z)), u = g α (1 − σ(z)),
    /// grad = u − (Σ_c u_c) v / Σ_c v_c. The same gradient comes here from plain autograd through a
    /// surrogate threshold t̃ = t* − Σ_c (v_c/Σv)(s_c − detach(s_c)) with v detached: its value is t*,
    /// and ∂t̃/∂s_c = −v_c/Σv is exactly the implicit derivative dt/ds_c. This avoids a managed autograd
    /// node, whose lifetime TorchSharp ties to the garbage collector, for a few element-wise ops. If
    /// every σ(z) saturates so that Σv underflows to 0, DEXML returns NaN; here the correction is
    /// dropped (grad = u), the limit of the formula.</para>
    /// </remarks>
    /// <param name="scores">(B, C) temperature-scaled similarities.</param>
    /// <param name="relevance">(B, C) relevance; &gt; 1e-8 marks a positive.</param>
    /// <param name="sampled">(B, C) 0/1, the sampled positives S_i ⊆ P_i (up to K per row); at least one per row.</param>
    /// <param name="k">K, the soft number of selected columns per row; 0 &lt; K &lt; C. Defaults to 5 (<c>topk_K</c>).</param>
    /// <param name="alpha">α, the sigmoid sharpness; &gt; 0. Defaults to 2 (<c>topk_alpha</c>).</param>
    /// <param name="iterations">Bisection steps. Defaults to 32 (<c>topk_n_iter</c>).</param>
    /// <param name="weighted">Multiply each log-probability by the column's relevance. Defaults to false.</param>
    /// <returns>The scalar loss.</returns>
    /// <exception cref="ArgumentException">A shape differs from (B, C), or a row samples nothing or a non-positive.</exception>
    /// <exception cref="ArgumentOutOfRangeException">K is not in (0, C), α ≤ 0, or fewer than 1 iteration.</exception>
    public static Tensor SoftTopK(Tensor scores, Tensor relevance, Tensor sampled, double k = 5, double alpha = 2, int iterations = 32, bool weighted = false)
    {
        LossInputs.CheckScores(scores);
        if (!(k > 0 && k < scores.shape[1]))
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"SoftTopK needs 0 < k < C = {scores.shape[1]}");
        }
        using var scope = NewDisposeScope();
        using var s = new HeldScalars(); // called every training step: see HeldScalars
        var perRow = full([scores.shape[0], 1], s[k], dtype: scores.dtype, device: scores.device); // (B, 1)
        return SoftTopKCore(scores, relevance, sampled, perRow, alpha, iterations, weighted, s).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// SoftTopK with one K per row, DEXML's <c>topk_K: num_pos</c> variant, where
    /// <c>K_i = ceil(Σ_c relevance_ic)</c>: pass <c>relevance.sum(1).ceil()</c> as <paramref name="k"/>.
    /// Otherwise as <see cref="SoftTopK(Tensor, Tensor, Tensor, double, double, int, bool)"/>.
    /// </summary>
    /// <param name="scores">(B, C) temperature-scaled similarities.</param>
    /// <param name="relevance">(B, C) relevance; &gt; 1e-8 marks a positive.</param>
    /// <param name="sampled">(B, C) 0/1, the sampled positives S_i ⊆ P_i; at least one per row.</param>
    /// <param name="k">(B) K_i per row, any numeric dtype; each 0 &lt; K_i &lt; C.</param>
    /// <param name="alpha">α, the sigmoid sharpness; &gt; 0. Defaults to 2.</param>
    /// <param name="iterations">Bisection steps. Defaults to 32.</param>
    /// <param name="weighted">Multiply each log-probability by the column's relevance. Defaults to false.</param>
    /// <returns>The scalar loss.</returns>
    /// <exception cref="ArgumentException">A shape is wrong, or a row samples nothing or a non-positive.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Some K_i is not in (0, C), α ≤ 0, or fewer than 1 iteration.</exception>
    public static Tensor SoftTopK(Tensor scores, Tensor relevance, Tensor sampled, Tensor k, double alpha = 2, int iterations = 32, bool weighted = false)
    {
        LossInputs.CheckScores(scores);
        ArgumentNullException.ThrowIfNull(k);
        if (k.dim() != 1 || k.shape[0] != scores.shape[0])
        {
            throw new ArgumentException($"k: expected one K per row, shape ({scores.shape[0]}), got {LossInputs.ShapeText(k)}", nameof(k));
        }
        using var scope = NewDisposeScope();
        using var s = new HeldScalars(); // called every training step: see HeldScalars
        var perRow = k.to_type(scores.dtype).unsqueeze(1); // (B, 1)
        if (!perRow.gt(s.Integer(0)).logical_and(perRow.lt(s.Integer(scores.shape[1]))).all().item<bool>())
        {
            throw new ArgumentOutOfRangeException(nameof(k), $"SoftTopK needs 0 < k_i < C = {scores.shape[1]} in every row");
        }
        return SoftTopKCore(scores, relevance, sampled, perRow, alpha, iterations, weighted, s).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Solves, without gradient, the (B, 1) threshold t with <c>Σ_c σ(α(s_ic + t_i)) ≈ k_i</c> by DEXML's
    /// bisection (<c>_dist_find_ts</c>): <c>lo = −max s − 10/α</c>, <c>hi = −min s + 10/α</c>, then
    /// <paramref name="iterations"/> halvings keeping the root inside, and the midpoint.
    /// </summary>
    /// <param name="scores">(B, C) scores, already masked.</param>
    /// <param name="k">(B, 1) target soft counts in the dtype of <paramref name="scores"/>.</param>
    /// <param name="alpha">α &gt; 0.</param>
    /// <param name="iterations">Bisection steps ≥ 1.</param>
    /// <returns>(B, 1) thresholds.</returns>
    internal static Tensor SoftTopKThreshold(Tensor scores, Tensor k, double alpha, int iterations)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Held once for all the iterations: see HeldScalars.
        using var s = new HeldScalars();
        var (one, two, scale) = (s[1], s.Integer(2), s[alpha]);
        var lo = (-scores.amax([1], keepdim: true)).sub(s[10 / alpha]); // (B, 1)
        var hi = (-scores.amin([1], keepdim: true)).add(s[10 / alpha], one); // (B, 1)
        for (var i = 0; i < iterations; i++)
        {
            // Each step allocates a (B, C) temporary; freeing it per step keeps the peak at one.
            using var step = NewDisposeScope();
            var mid = hi.add(lo, one).div(two); // (B, 1)
            var below = scores.add(mid, one).mul(scale).sigmoid().sum(1, keepdim: true).lt(k); // (B, 1)
            lo = where(below, mid, lo).MoveToOuterDisposeScope(); // (B, 1)
            hi = where(below, hi, mid).MoveToOuterDisposeScope(); // (B, 1)
        }
        return lo.add(hi, one).div(two).MoveToOuterDisposeScope(); // (B, 1)
    }

    private static Tensor SoftTopKCore(Tensor scores, Tensor relevance, Tensor sampled, Tensor k, double alpha, int iterations, bool weighted, HeldScalars s)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(alpha);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(iterations);
        LossInputs.CheckSameShape(scores, relevance, nameof(relevance));
        LossInputs.CheckSameShape(scores, sampled, nameof(sampled));
        var positives = relevance.gt(s[LossInputs.PositiveThreshold]); // (B, C)
        var chosen = LossInputs.SampledMask(sampled, positives); // (B, C)
        var (columns, present) = SampledSlots(chosen); // (B, m), (B, m)
        var masked = scores.masked_fill(positives.logical_and(chosen.logical_not()), s[MaskedScore]); // (B, C)
        var logTopK = LogSoftTopK(masked, columns, k, alpha, iterations, s); // (B, m)
        var weights = PerPositiveWeights(relevance, columns, present, weighted, scores.dtype); // (B, m)
        return NegativeMeanOverRows(logTopK, present, weights, s);
    }

    // log σ(α(s + t)) at the (B, m) columns, with DEXML's implicit-function gradient (see SoftTopK).
    private static Tensor LogSoftTopK(Tensor scores, Tensor columns, Tensor k, double alpha, int iterations, HeldScalars s)
    {
        var fixedScores = scores.detach(); // (B, C)
        var threshold = SoftTopKThreshold(fixedScores, k, alpha, iterations); // (B, 1)
        Tensor shares;
        using (no_grad())
        {
            // v_c / Σv: α cancels in the ratio. clamp_min keeps a fully saturated row at 0, not NaN.
            var sigma = fixedScores.add(threshold, s[1]).mul(s[alpha]).sigmoid(); // (B, C)
            var slope = sigma * sigma.negative().add(s.Integer(1), s[1]); // (B, C) σ(1 − σ)
            shares = slope / slope.sum(1, keepdim: true).clamp_min(s[1e-30]); // (B, C)
        }
        var tangent = scores - fixedScores; // (B, C) zero-valued, d/ds = 1
        var surrogate = threshold - (shares * tangent).sum(1, keepdim: true); // (B, 1) value t*, d/ds_c = −v_c/Σv
        return nn.functional.logsigmoid(scores.gather(1, columns).add(surrogate, s[1]).mul(s[alpha])); // (B, m)
    }

    // The sampled columns of each row as (B, m) slots, m = max_i |S_i|, and which slots are real
    // (rows with fewer take padding). Everything after the log-sum-exp then works on (B, m) instead
    // of (B, C): with every label a candidate, C is the label count while m is the largest sample
    // (1 for DEXML's softmax losses, up to K for top-k).
    private static (Tensor Columns, Tensor Present) SampledSlots(Tensor chosen)
    {
        var width = chosen.sum(1).max().item<long>();
        var (_, columns) = chosen.to_type(ScalarType.Int8).topk((int)width, 1); // (B, m)
        return (columns, chosen.gather(1, columns)); // (B, m), (B, m)
    }

    // (1/|S_i|), times the relevance when weighted: the per-positive factor of the decoupled and
    // top-k losses.
    private static Tensor PerPositiveWeights(Tensor relevance, Tensor columns, Tensor present, bool weighted, ScalarType dtype)
    {
        var counts = present.sum(1, keepdim: true).to_type(dtype); // (B, 1)
        var numerators = weighted ? relevance.gather(1, columns).to_type(dtype) : ones(columns.shape, dtype, columns.device); // (B, m)
        return numerators / counts; // (B, m)
    }

    // −(1/B) Σ over the real slots of weight · value. Padding slots are filled, not multiplied by 0, so
    // a −∞ score in a padding slot cannot turn the sum into NaN.
    private static Tensor NegativeMeanOverRows(Tensor values, Tensor present, Tensor weights, HeldScalars s)
    {
        var terms = (values * weights).masked_fill(present.logical_not(), s.Integer(0)); // (B, m)
        return (-terms.sum()).div(s.Integer(values.shape[0])); // ()
    }
}
