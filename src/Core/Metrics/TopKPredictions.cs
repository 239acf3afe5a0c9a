using System.Collections.Concurrent;
using Skim.Core.Sparse;

namespace Skim.Core.Metrics;

/// <summary>
/// The k best labels of every row of a score matrix, best first, in a row-major
/// <see cref="Rows"/> × <see cref="K"/> block. A row with fewer than k predictions is padded with
/// label <see cref="Padding"/> and score 0; a padded slot is never a hit and has no propensity weight
/// (pyxclib pads with index <c>num_labels</c> to the same effect).
/// </summary>
/// <remarks>
/// Ties are broken by descending score, then ascending label id — DEXML's rule (stable mergesort on
/// <c>-data</c> after <c>sort_indices</c>). pyxclib leaves the order of tied scores unspecified
/// (a non-stable argsort), so on tied scores its P@k may differ from ours by the luck of its sort.
/// </remarks>
public sealed class TopKPredictions
{
    /// <summary>The label of an empty slot.</summary>
    public const int Padding = -1;

    /// <summary>
    /// Wraps ranked lists: row <c>i</c> holds <paramref name="labels"/>[i·k .. i·k+k) with their
    /// <paramref name="scores"/>, best first; <see cref="Padding"/> marks the end of a short row.
    /// </summary>
    /// <exception cref="SkimDataException">A label is outside [<see cref="Padding"/>, <paramref name="columns"/>).</exception>
    /// <exception cref="ArgumentException">The arrays do not hold rows × k entries.</exception>
    public TopKPredictions(int rows, int columns, int k, int[] labels, float[] scores)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(scores);
        // rows and k describe the caller's own arrays: a length mismatch is a bug, not bad data.
        if (labels.Length != (long)rows * k || scores.Length != labels.Length)
        {
            throw new ArgumentException(
                $"{rows} rows of top-{k} need {(long)rows * k} labels and scores, found {labels.Length} and {scores.Length}", nameof(labels));
        }
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < Padding || labels[i] >= columns)
            {
                throw new SkimDataException(null, $"row {i / k}, rank {i % k}", $"label {labels[i]} is outside [0, {columns})");
            }
        }
        Rows = rows;
        Columns = columns;
        K = k;
        Labels = labels;
        Scores = scores;
    }

    /// <summary>Gets the number of rows (points).</summary>
    public int Rows { get; }

    /// <summary>Gets the number of labels of the score matrix the lists were taken from.</summary>
    public int Columns { get; }

    /// <summary>Gets the length of every row's list.</summary>
    public int K { get; }

    /// <summary>Gets the labels, row-major (Rows × K), <see cref="Padding"/> in empty slots.</summary>
    public int[] Labels { get; }

    /// <summary>Gets the scores, row-major (Rows × K), 0 in empty slots.</summary>
    public float[] Scores { get; }

    /// <summary>Gets the ranked labels of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<int> RowLabels(int row) => Labels.AsSpan(row * K, K);

    /// <summary>Gets the scores of row <paramref name="row"/>, in rank order.</summary>
    public ReadOnlySpan<float> RowScores(int row) => Scores.AsSpan(row * K, K);

    /// <summary>
    /// Takes the top <paramref name="k"/> of each row of a sparse score matrix. Every stored entry is a
    /// prediction, explicit zeros included (pyxclib's rule), unless <paramref name="dropZeroScores"/>
    /// removes them (NGAME's <c>eliminate_zeros</c> after filtering). Filtered pairs are removed first;
    /// a row left with fewer than k entries is padded.
    /// </summary>
    /// <exception cref="SkimDataException">A score is NaN, or the filter has another shape.</exception>
    public static TopKPredictions FromSparse(CsrMatrix scores, int k, PredictionFilter? filter = null, bool dropZeroScores = false)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return Extract(new SparseRankedRows(scores, k, filter, dropZeroScores));
    }

    /// <summary>
    /// Takes the top <paramref name="k"/> of each row of a dense score matrix. Filtered labels are
    /// skipped, so the next best labels fill their places; a matrix with fewer than k columns is padded
    /// (pyxclib refuses it).
    /// </summary>
    /// <exception cref="SkimDataException">A score is NaN, or the filter has another shape.</exception>
    public static TopKPredictions FromDense(float[,] scores, int k, PredictionFilter? filter = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return Extract(new DenseRankedRows(scores, k, filter));
    }

    /// <summary>
    /// Takes the top <paramref name="k"/> of each row of a dense row-major <paramref name="rows"/> ×
    /// <paramref name="columns"/> score matrix (for example a memory-mapped .npy block); as
    /// <see cref="FromDense(float[,], int, PredictionFilter?)"/> otherwise.
    /// </summary>
    /// <exception cref="SkimDataException">A score is NaN, or the filter has another shape.</exception>
    /// <exception cref="ArgumentException">The length is not rows × columns.</exception>
    public static TopKPredictions FromDense(ReadOnlyMemory<float> scores, int rows, int columns, int k, PredictionFilter? filter = null) =>
        Extract(new DenseRankedRows(scores, rows, columns, k, filter));

    private static TopKPredictions Extract(RankedRows source)
    {
        var k = source.K;
        var total = (long)source.Rows * k;
        CsrMatrix.EnsureNonZerosFit(total, "top-k predictions");
        var labels = new int[total];
        var scores = new float[total];
        var buffers = new ConcurrentBag<ulong[]>();
        ParallelBlocks.Run(
            source.Rows,
            -1,
            () => buffers.TryTake(out var b) ? b : new ulong[source.KeyCapacity],
            (row, keys) =>
            {
                var count = source.Rank(row, keys);
                var offset = row * k;
                for (var j = 0; j < k; j++)
                {
                    labels[offset + j] = j < count ? RankKey.Label(keys[j]) : Padding;
                    scores[offset + j] = j < count ? RankKey.Score(keys[j]) : 0f;
                }
            },
            buffers.Add,
            CancellationToken.None);
        return new TopKPredictions(source.Rows, source.Columns, k, labels, scores);
    }
}
