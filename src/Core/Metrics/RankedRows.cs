using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Skim.Core.Sparse;

namespace Skim.Core.Metrics;

/// <summary>
/// A prediction matrix seen one ranked row at a time: <see cref="Rank"/> writes the row's best
/// <see cref="K"/> (score, label) keys, best first, after filtering. Metrics and top-k extraction both
/// run on it, so ranking and scoring happen in one pass without a rows × k intermediate.
/// </summary>
internal abstract class RankedRows
{
    protected RankedRows(int rows, int columns, int k, PredictionFilter? filter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        // The filter comes with the dataset and the predictions from another file: a mismatch is in the data.
        if (filter is not null && (filter.Rows != rows || filter.Columns != columns))
        {
            throw new SkimDataException(null, null,
                $"the filter is for a {filter.Rows} x {filter.Columns} matrix but the predictions are {rows} x {columns}");
        }
        Rows = rows;
        Columns = columns;
        K = k;
        Filter = filter;
    }

    public int Rows { get; }

    public int Columns { get; }

    public int K { get; }

    /// <summary>Gets the file the scores came from, named in data errors; null when unknown.</summary>
    public string? Source { get; init; }

    protected PredictionFilter? Filter { get; }

    /// <summary>Gets the length of the key buffer <see cref="Rank"/> needs.</summary>
    public abstract int KeyCapacity { get; }

    /// <summary>Ranks row <paramref name="row"/> into <paramref name="keys"/>[0..n) and returns n ≤ K.</summary>
    public abstract int Rank(int row, Span<ulong> keys);

    protected ReadOnlySpan<int> Banned(int row) => Filter is null ? default : Filter.RowLabels(row);

    protected SkimDataException NaNScore(int row, int label) =>
        new(Source, $"row {row}, label {label}", "score is NaN, expected a number");
}

/// <summary>
/// A sparse score matrix ranked as pyxclib's <c>topk</c> does: every stored entry is a candidate
/// (explicit zeros too, unless <c>dropZeroScores</c> applies NGAME's <c>eliminate_zeros</c>), and a row
/// with fewer than k candidates yields fewer keys (the metrics pad).
/// </summary>
internal sealed class SparseRankedRows(CsrMatrix scores, int k, PredictionFilter? filter, bool dropZeroScores)
    : RankedRows(scores.Rows, scores.Columns, k, filter)
{
    public override int KeyCapacity => K;

    public override int Rank(int row, Span<ulong> keys)
    {
        var labels = scores.RowIndices(row);
        var values = scores.RowValues(row);
        var banned = Banned(row);
        var count = 0;
        for (var e = 0; e < labels.Length; e++)
        {
            var score = values[e];
            var label = labels[e];
            if ((dropZeroScores && score == 0f) || (banned.Length != 0 && banned.BinarySearch(label) >= 0))
            {
                continue;
            }
            if (float.IsNaN(score))
            {
                throw NaNScore(row, label);
            }
            RankKey.Offer(keys, ref count, K, RankKey.Make(score, label));
        }
        keys[..count].Sort();
        return count;
    }
}

/// <summary>
/// A dense row-major score matrix: every label is a candidate. Filtered labels are dropped after
/// selecting k + (filtered count) candidates, so the next best labels take their places.
/// </summary>
internal sealed class DenseRankedRows : RankedRows
{
    private readonly ReadOnlyMemory<float> _flat;
    private readonly float[,]? _array;

    public DenseRankedRows(ReadOnlyMemory<float> flat, int rows, int columns, int k, PredictionFilter? filter)
        : base(rows, columns, k, filter)
    {
        // rows and columns describe the caller's own buffer (an array, a mapped .npy): a mismatch is a bug.
        if ((long)rows * columns != flat.Length)
        {
            throw new ArgumentException($"a {rows} x {columns} matrix needs {(long)rows * columns} values, found {flat.Length}", nameof(flat));
        }
        _flat = flat;
    }

    public DenseRankedRows(float[,] array, int k, PredictionFilter? filter)
        : base(array.GetLength(0), array.GetLength(1), k, filter)
    {
        _array = array;
    }

    public override int KeyCapacity => K + (Filter?.MaxRowLength ?? 0);

    public override int Rank(int row, Span<ulong> keys)
    {
        var values = RowValues(row);
        var banned = Banned(row);
        var capacity = K + banned.Length;
        var count = 0;
        for (var label = 0; label < values.Length; label++)
        {
            var score = values[label];
            if (float.IsNaN(score))
            {
                throw NaNScore(row, label);
            }
            RankKey.Offer(keys, ref count, capacity, RankKey.Make(score, label));
        }
        var ranked = keys[..count];
        ranked.Sort();
        if (banned.Length == 0)
        {
            return Math.Min(count, K);
        }
        var kept = 0;
        for (var j = 0; j < ranked.Length && kept < K; j++)
        {
            if (banned.BinarySearch(RankKey.Label(ranked[j])) < 0)
            {
                keys[kept++] = ranked[j];
            }
        }
        return kept;
    }

    private ReadOnlySpan<float> RowValues(int row)
    {
        if (Columns == 0)
        {
            return default;
        }
        if (_array is null)
        {
            return _flat.Span.Slice(row * Columns, Columns);
        }
        // A float[,] is one contiguous row-major block; view one row of it without copying.
        return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in _array[row, 0]), Columns);
    }
}

/// <summary>Already ranked top-k lists: their order is kept; filtering only removes entries.</summary>
internal sealed class PrecomputedRankedRows(TopKPredictions predictions, int k, PredictionFilter? filter)
    : RankedRows(predictions.Rows, predictions.Columns, k, filter)
{
    public override int KeyCapacity => K;

    public override int Rank(int row, Span<ulong> keys)
    {
        var labels = predictions.RowLabels(row);
        var scores = predictions.RowScores(row);
        var banned = Banned(row);
        var count = 0;
        for (var j = 0; j < labels.Length && count < K; j++)
        {
            var label = labels[j];
            if (label < 0)
            {
                break;
            }
            if (banned.Length == 0 || banned.BinarySearch(label) < 0)
            {
                keys[count++] = RankKey.Make(scores[j], label);
            }
        }
        return count;
    }
}
