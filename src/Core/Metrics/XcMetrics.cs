using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Skim.Core.Sparse;

namespace Skim.Core.Metrics;

/// <summary>
/// pyxclib-compatible XC metrics (<c>xclib/evaluation/xc_metrics.py</c>) for k = 1..K: P@k, nDCG@k,
/// PSP@k, PSnDCG@k and R@k, computed in one parallel pass over the rows.
/// </summary>
/// <remarks>
/// <para>With <c>f_ij</c> the ground-truth value (not binarised) of the j-th predicted label of row i,
/// <c>c_k = Σ_{j≤k} 1/log2(j+1)</c>, <c>|y_i|</c> the row sum truncated to an integer and
/// <c>w</c> the inverse propensities:</para>
/// <list type="bullet">
/// <item>P@k = mean_i Σ_{j≤k} f_ij / k.</item>
/// <item>nDCG@k = mean_i [Σ_{j≤k} f_ij / log2(j+1)] / min(n_i, c_k) with n_i = c_{|y_i|}; a row with
/// |y_i| ≤ 0 takes pyxclib's wrapped index (the last element of its cumsum), i.e. c_k.</item>
/// <item>PSP@k and PSnDCG@k are ratios of means: the same sums weighted by w at the predicted ranking,
/// over the sums at the best ranking of the true labels by w·f (recomputed on this ground truth).</item>
/// <item>R@k = mean_i Σ_{j≤k} f_ij / s_i, with s_i the row sum, or 1 for a row summing to 0
/// (pyxclib's <c>recall</c>: for fractional ground truth this is the sum, not max(sum, 1)).</item>
/// </list>
/// <para>Rows without labels stay in every mean and add 0. Predictions come from a sparse matrix
/// (every stored entry is a prediction, explicit zeros too, unless
/// <see cref="XcMetricsOptions.DropZeroScores"/>), a dense matrix, or precomputed top-k lists; filtered
/// pairs are removed before ranking and a short row is padded with slots that never hit. Ties are
/// broken by descending score then ascending label id (see <see cref="TopKPredictions"/>).</para>
/// <para>Rows are processed in fixed blocks whose partial sums are added in block order, so the result
/// is the same, bit for bit, whatever the number of threads.</para>
/// </remarks>
public static class XcMetrics
{
    // Accumulator slots, each K wide: the three plain metrics, then numerators and denominators of
    // the two propensity-scored ones.
    private const int SlotPrecision = 0;
    private const int SlotNdcg = 1;
    private const int SlotRecall = 2;
    private const int SlotPspNumerator = 3;
    private const int SlotPspDenominator = 4;
    private const int SlotPsNdcgNumerator = 5;
    private const int SlotPsNdcgDenominator = 6;
    private const int PlainSlots = 3;
    private const int AllSlots = 7;

    /// <summary>Scores a sparse score matrix (rows = points, columns = labels) against <paramref name="groundTruth"/>.</summary>
    /// <exception cref="SkimDataException">Shapes differ, a score is NaN, a ground-truth row sums below 0, or the propensities do not fit the labels.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="XcMetricsOptions.MaxK"/> is below 1.</exception>
    public static XcMetricsResult Evaluate(CsrMatrix scores, CsrMatrix groundTruth, XcMetricsOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(scores);
        options ??= new XcMetricsOptions();
        return Run(new SparseRankedRows(scores, CheckK(options), options.Filter, options.DropZeroScores) { Source = options.PredictionsSource }, groundTruth, options, ct);
    }

    /// <summary>Scores a dense score matrix against <paramref name="groundTruth"/>; every label is a candidate.</summary>
    /// <exception cref="SkimDataException">Shapes differ, a score is NaN, a ground-truth row sums below 0, or the propensities do not fit the labels.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="XcMetricsOptions.MaxK"/> is below 1.</exception>
    public static XcMetricsResult Evaluate(float[,] scores, CsrMatrix groundTruth, XcMetricsOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(scores);
        options ??= new XcMetricsOptions();
        return Run(new DenseRankedRows(scores, CheckK(options), options.Filter) { Source = options.PredictionsSource }, groundTruth, options, ct);
    }

    /// <summary>Scores a dense row-major <paramref name="rows"/> × <paramref name="columns"/> score matrix against <paramref name="groundTruth"/>.</summary>
    /// <exception cref="SkimDataException">Shapes differ, a score is NaN, a ground-truth row sums below 0, or the propensities do not fit the labels.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="XcMetricsOptions.MaxK"/> is below 1.</exception>
    public static XcMetricsResult Evaluate(
        ReadOnlyMemory<float> scores, int rows, int columns, CsrMatrix groundTruth, XcMetricsOptions? options = null, CancellationToken ct = default)
    {
        options ??= new XcMetricsOptions();
        return Run(new DenseRankedRows(scores, rows, columns, CheckK(options), options.Filter) { Source = options.PredictionsSource }, groundTruth, options, ct);
    }

    /// <summary>
    /// Scores ranked top-k lists against <paramref name="groundTruth"/>; their order is kept, and the
    /// filter (if any) only removes entries.
    /// </summary>
    /// <exception cref="SkimDataException">Shapes differ, a ground-truth row sums below 0, or the propensities do not fit the labels.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="XcMetricsOptions.MaxK"/> is below 1.</exception>
    public static XcMetricsResult Evaluate(TopKPredictions predictions, CsrMatrix groundTruth, XcMetricsOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        options ??= new XcMetricsOptions();
        return Run(new PrecomputedRankedRows(predictions, CheckK(options), options.Filter) { Source = options.PredictionsSource }, groundTruth, options, ct);
    }

    private static int CheckK(XcMetricsOptions options)
    {
        // K is chosen by the calling code (the CLI checks --k), not read from data.
        if (options.MaxK < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxK, "MaxK must be at least 1");
        }
        return options.MaxK;
    }

    private static XcMetricsResult Run(RankedRows source, CsrMatrix truth, XcMetricsOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(truth);
        if (source.Rows != truth.Rows || source.Columns != truth.Columns)
        {
            throw new SkimDataException(source.Source, null,
                $"the predictions are {source.Rows} x {source.Columns} but the ground truth is {truth.Rows} x {truth.Columns}");
        }
        double[]? weights = null;
        if (options.InversePropensity is { } given)
        {
            if (given.Count != truth.Columns)
            {
                throw new SkimDataException(null, null, $"{given.Count} inverse propensities given for {truth.Columns} labels of the ground truth");
            }
            weights = [.. given];
        }

        var k = source.K;
        var rows = truth.Rows;

        // pyxclib indexes its IDCG table with |y_i| − 1 in a table of max(max_i |y_i|, K) entries, so a
        // row with |y_i| ≤ 0 wraps around to the end of the table; that length is needed up front.
        long maxPositives = k;
        var maxTruthRow = 0;
        for (var row = 0; row < rows; row++)
        {
            maxPositives = Math.Max(maxPositives, TruncateToInt32(RowSum(truth.RowValues(row))));
            maxTruthRow = Math.Max(maxTruthRow, truth.RowLength(row));
        }

        var tables = new Tables(k, maxPositives, weights);
        var slots = weights is null ? PlainSlots : AllSlots;
        var stride = slots * k;
        // A fixed partition (it depends only on the row count) keeps the summation order, and so the
        // result, independent of the thread count. At most 4096 blocks bound the partial-sum memory.
        var blockSize = Math.Max(256, (int)((rows + 4095L) / 4096));
        var blocks = (int)((rows + (long)blockSize - 1) / blockSize);
        var partials = new double[(long)blocks * stride];
        var pool = new ConcurrentBag<Workspace>();

        ParallelBlocks.Run(
            blocks,
            options.MaxDegreeOfParallelism,
            () => pool.TryTake(out var w) ? w : new Workspace(truth.Columns, source.KeyCapacity, maxTruthRow, k),
            (block, workspace) =>
            {
                var sums = partials.AsSpan(block * stride, stride);
                var end = Math.Min(rows, (block + 1) * blockSize);
                for (var row = block * blockSize; row < end; row++)
                {
                    ScoreRow(row, source, truth, tables, workspace, sums);
                }
            },
            pool.Add,
            ct);

        var totals = new double[stride];
        for (var block = 0; block < blocks; block++)
        {
            var sums = partials.AsSpan(block * stride, stride);
            for (var s = 0; s < stride; s++)
            {
                totals[s] += sums[s];
            }
        }

        var precision = new double[k];
        var ndcg = new double[k];
        var recall = new double[k];
        var psp = weights is null ? null : new double[k];
        var psNdcg = weights is null ? null : new double[k];
        for (var j = 0; j < k; j++)
        {
            precision[j] = totals[(SlotPrecision * k) + j] / (j + 1) / rows;
            ndcg[j] = totals[(SlotNdcg * k) + j] / rows;
            recall[j] = totals[(SlotRecall * k) + j] / rows;
            if (psp is not null && psNdcg is not null)
            {
                // Ratios of means, not means of ratios.
                psp[j] = (totals[(SlotPspNumerator * k) + j] / rows) / (totals[(SlotPspDenominator * k) + j] / rows);
                psNdcg[j] = (totals[(SlotPsNdcgNumerator * k) + j] / rows) / (totals[(SlotPsNdcgDenominator * k) + j] / rows);
            }
        }
        return new XcMetricsResult(rows, k, precision, ndcg, recall, psp, psNdcg);
    }

    /// <summary>Adds row <paramref name="row"/>'s contribution for every k to <paramref name="sums"/>.</summary>
    private static void ScoreRow(int row, RankedRows source, CsrMatrix truth, Tables tables, Workspace ws, Span<double> sums)
    {
        var k = tables.K;
        var weights = tables.Weights;
        var stamp = ws.Stamp;
        var values = ws.Truth;

        // Scatter the true labels into the workspace; a stamp per row makes clearing unnecessary.
        // Repeated labels add up, as scipy's fancy indexing does.
        var mark = row + 1;
        var truthLabels = truth.RowIndices(row);
        var truthValues = truth.RowValues(row);
        var rowSum = 0d;
        for (var e = 0; e < truthLabels.Length; e++)
        {
            var label = truthLabels[e];
            var value = truthValues[e];
            rowSum += value;
            if (stamp[label] == mark)
            {
                values[label] += value;
            }
            else
            {
                stamp[label] = mark;
                values[label] = value;
            }
        }

        // n_i = c_{|y_i|}, and min(n_i, c_k) = c_{min(|y_i|, k)}; the wrap of |y_i| ≤ 0 is pyxclib's.
        long positives = TruncateToInt32(rowSum);
        if (positives < 1)
        {
            positives += tables.MaxPositives;
            if (positives < 1)
            {
                throw new SkimDataException(null, $"ground truth row {row}", $"values sum to {rowSum}, expected non-negative values");
            }
        }
        var lastNorm = (int)Math.Min(positives, k) - 1;
        var recallScale = 1 / (rowSum != 0 ? rowSum : 1);
        var inverseIdcg = tables.InverseIdcg;
        var discount = tables.Discount;

        var keys = ws.Keys;
        var predicted = source.Rank(row, keys);
        var hits = 0d;
        var dcg = 0d;
        var weightedHits = 0d;
        var weightedDcg = 0d;
        var precisionSums = sums.Slice(SlotPrecision * k, k);
        var ndcgSums = sums.Slice(SlotNdcg * k, k);
        var recallSums = sums.Slice(SlotRecall * k, k);
        var pspNumerator = weights is null ? default : sums.Slice(SlotPspNumerator * k, k);
        var psNdcgNumerator = weights is null ? default : sums.Slice(SlotPsNdcgNumerator * k, k);
        for (var j = 0; j < k; j++)
        {
            if (j < predicted)
            {
                var label = RankKey.Label(keys[j]);
                if (stamp[label] == mark && values[label] != 0f)
                {
                    double f = values[label];
                    hits += f;
                    dcg += f * discount[j];
                    if (weights is not null)
                    {
                        var wf = weights[label] * f;
                        weightedHits += wf;
                        weightedDcg += wf * discount[j];
                    }
                }
            }
            var inverseNorm = inverseIdcg[Math.Min(lastNorm, j)];
            precisionSums[j] += hits;
            ndcgSums[j] += dcg * inverseNorm;
            recallSums[j] += hits * recallScale;
            if (weights is not null)
            {
                pspNumerator[j] += weightedHits;
                psNdcgNumerator[j] += weightedDcg * inverseNorm;
            }
        }

        if (weights is null)
        {
            return;
        }
        // The best achievable ranking: the true labels ordered by w·f. Stamps are consumed so that a
        // repeated label counts once (with its summed value).
        var best = ws.Best;
        var count = 0;
        for (var e = 0; e < truthLabels.Length; e++)
        {
            var label = truthLabels[e];
            if (stamp[label] == mark)
            {
                best[count++] = weights[label] * values[label];
                stamp[label] = 0;
            }
        }
        var ranked = best.AsSpan(0, count);
        ranked.Sort();
        var pspDenominator = sums.Slice(SlotPspDenominator * k, k);
        var psNdcgDenominator = sums.Slice(SlotPsNdcgDenominator * k, k);
        var bestHits = 0d;
        var bestDcg = 0d;
        for (var j = 0; j < k; j++)
        {
            if (j < count)
            {
                var v = ranked[count - 1 - j];
                bestHits += v;
                bestDcg += v * discount[j];
            }
            pspDenominator[j] += bestHits;
            psNdcgDenominator[j] += bestDcg * inverseIdcg[Math.Min(lastNorm, j)];
        }
    }

    private static double RowSum(ReadOnlySpan<float> values)
    {
        var sum = 0d;
        foreach (var v in values)
        {
            sum += v;
        }
        return sum;
    }

    // numpy's astype(int32) truncates towards zero; out-of-range sums saturate here.
    private static int TruncateToInt32(double value) =>
        value >= int.MaxValue ? int.MaxValue
        : value <= int.MinValue ? int.MinValue
        : double.IsNaN(value) ? 0
        : (int)value;

    /// <summary>Per-call constants shared by all threads.</summary>
    private sealed class Tables
    {
        public Tables(int k, long maxPositives, double[]? weights)
        {
            K = k;
            MaxPositives = maxPositives;
            Weights = weights;
            Discount = new double[k];
            InverseIdcg = new double[k];
            var idcg = 0d;
            for (var j = 0; j < k; j++)
            {
                Discount[j] = 1 / Math.Log2(j + 2);
                idcg += Discount[j];
                InverseIdcg[j] = 1 / idcg;
            }
        }

        public int K { get; }

        public long MaxPositives { get; }

        public double[]? Weights { get; }

        /// <summary>Gets 1/log2(j + 2) for rank j (0-based).</summary>
        public double[] Discount { get; }

        /// <summary>Gets 1/c_{j+1}.</summary>
        public double[] InverseIdcg { get; }
    }

    /// <summary>Scratch space of one worker, allocated once per worker rather than per row.</summary>
    private sealed class Workspace(int labels, int keyCapacity, int maxTruthRow, int k)
    {
        public int[] Stamp { get; } = new int[labels];

        public float[] Truth { get; } = new float[labels];

        public ulong[] Keys { get; } = new ulong[Math.Max(keyCapacity, k)];

        public double[] Best { get; } = new double[maxTruthRow];
    }
}

/// <summary>Parallel loops over fixed work items with per-worker state and unwrapped exceptions.</summary>
internal static class ParallelBlocks
{
    /// <summary>
    /// Runs <paramref name="body"/> for items 0..count-1; a failure surfaces as the exception a caller
    /// would get from a plain loop, not as an <see cref="AggregateException"/>.
    /// </summary>
    public static void Run<TState>(int count, int maxDegreeOfParallelism, Func<TState> init, Action<int, TState> body, Action<TState> done, CancellationToken ct)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, CancellationToken = ct };
        try
        {
            Parallel.For(0, count, options, init, (item, _, state) =>
            {
                body(item, state);
                return state;
            }, done);
        }
        catch (AggregateException e)
        {
            ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
            throw;
        }
    }
}
