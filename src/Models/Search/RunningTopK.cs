using System.Numerics;
using System.Runtime.InteropServices;

namespace Skim.Models.Search;

/// <summary>
/// The running k best (score, database row) pairs of each row of a query block, kept on the host and
/// fed one score block at a time: <see cref="ExactKnn"/>'s selection on CPU.
/// </summary>
/// <remarks>
/// <para>
/// Why not libtorch's <c>topk</c>: once a row holds k candidates, only scores above its current k-th
/// best can enter, and after the first few thousand columns that is a small fraction of them (about
/// k·ln(n/k) insertions per row for n columns in random order). So each score is compared once with
/// the row's threshold, a SIMD vector at a time, and only the few that pass touch the heap. libtorch's
/// <c>topk</c> instead partially sorts every block in full; at d = 768 it took twice as long as the
/// matmul that produced the scores.
/// </para>
/// <para>
/// Order and ties: each row's k best are kept in a binary heap whose root is the worst candidate —
/// the lowest score, and among equal scores the highest row. Columns arrive in increasing row order,
/// so a new score equal to the root's loses (its row is higher) and only a strictly greater score
/// replaces it: the kept set is exactly the first k by (score descending, row ascending), whatever the
/// block sizes. Scores must be finite (NaN compares false and would never be kept once a row is full;
/// step-2 refuses NaN embeddings before searching).
/// </para>
/// </remarks>
internal sealed class RunningTopK
{
    /// <summary>Gets a row-major (rows × width) block of scores (a span over a tensor's memory, fetched per worker thread).</summary>
    public delegate ReadOnlySpan<float> ScoreBlock();

    private readonly int _rows;
    private readonly int _k;
    private readonly float[] _scores; // (rows, k) one heap per row
    private readonly int[] _ids; // (rows, k)
    private readonly int[] _counts; // (rows)

    public RunningTopK(int rows, int k)
    {
        _rows = rows;
        _k = k;
        _scores = GC.AllocateUninitializedArray<float>(checked(rows * k));
        _ids = GC.AllocateUninitializedArray<int>(checked(rows * k));
        _counts = new int[rows];
    }

    /// <summary>
    /// Merges a row-major (rows × <paramref name="width"/>) block of scores whose columns are database
    /// rows <paramref name="firstId"/> onwards; <paramref name="firstId"/> must exceed every row added before.
    /// </summary>
    public void Add(ScoreBlock block, int width, int firstId)
    {
        // Rows are independent: split them over the cores (libtorch's threads are idle between matmuls).
        var workers = Math.Min(Environment.ProcessorCount, Math.Max(1, _rows / 16));
        if (workers == 1)
        {
            AddRows(block, width, firstId, 0, _rows);
            return;
        }
        Parallel.For(0, workers, worker =>
        {
            var start = (int)((long)_rows * worker / workers);
            var end = (int)((long)_rows * (worker + 1) / workers);
            AddRows(block, width, firstId, start, end);
        });
    }

    /// <summary>Writes each row's k best, by score descending then database row ascending, into (rows × k) spans.</summary>
    public void CopyTo(Span<int> ids, Span<float> scores)
    {
        var pairs = new (float Score, int Id)[_k];
        for (var row = 0; row < _rows; row++)
        {
            var count = _counts[row];
            if (count != _k)
            {
                throw new InvalidOperationException($"row {row} holds {count} candidates, expected {_k}");
            }
            var offset = row * _k;
            for (var i = 0; i < _k; i++)
            {
                pairs[i] = (_scores[offset + i], _ids[offset + i]);
            }
            Array.Sort(pairs, static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
            for (var i = 0; i < _k; i++)
            {
                scores[offset + i] = pairs[i].Score;
                ids[offset + i] = pairs[i].Id;
            }
        }
    }

    private void AddRows(ScoreBlock block, int width, int firstId, int start, int end)
    {
        var scores = block();
        for (var row = start; row < end; row++)
        {
            AddRow(scores.Slice(row * width, width), firstId, row);
        }
    }

    private void AddRow(ReadOnlySpan<float> values, int firstId, int row)
    {
        var heapScores = _scores.AsSpan(row * _k, _k);
        var heapIds = _ids.AsSpan(row * _k, _k);
        var count = _counts[row];
        var column = 0;

        // Until the row holds k candidates every score enters.
        for (; column < values.Length && count < _k; column++)
        {
            Push(heapScores, heapIds, count++, values[column], firstId + column);
        }
        _counts[row] = count;
        if (column == values.Length)
        {
            return;
        }

        var threshold = heapScores[0];
        var lanes = Vector<float>.Count;
        ref var start = ref MemoryMarshal.GetReference(values);
        if (Vector.IsHardwareAccelerated)
        {
            for (; column + lanes <= values.Length; column += lanes)
            {
                var vector = Vector.LoadUnsafe(ref start, (nuint)column);
                if (!Vector.GreaterThanAny(vector, new Vector<float>(threshold)))
                {
                    continue;
                }
                for (var lane = 0; lane < lanes; lane++)
                {
                    var score = values[column + lane];
                    if (score > threshold)
                    {
                        ReplaceRoot(heapScores, heapIds, score, firstId + column + lane);
                        threshold = heapScores[0];
                    }
                }
            }
        }
        for (; column < values.Length; column++)
        {
            var score = values[column];
            if (score > threshold)
            {
                ReplaceRoot(heapScores, heapIds, score, firstId + column);
                threshold = heapScores[0];
            }
        }
    }

    /// <summary>True when (a) ranks below (b): a lower score, or an equal score at a higher row.</summary>
    private static bool Worse(float aScore, int aId, float bScore, int bId) =>
        aScore < bScore || (aScore == bScore && aId > bId);

    private static void Push(Span<float> scores, Span<int> ids, int count, float score, int id)
    {
        var child = count;
        while (child > 0)
        {
            var parent = (child - 1) >> 1;
            if (!Worse(score, id, scores[parent], ids[parent]))
            {
                break;
            }
            scores[child] = scores[parent];
            ids[child] = ids[parent];
            child = parent;
        }
        scores[child] = score;
        ids[child] = id;
    }

    private static void ReplaceRoot(Span<float> scores, Span<int> ids, float score, int id)
    {
        var n = scores.Length;
        var parent = 0;
        while (true)
        {
            var child = (2 * parent) + 1;
            if (child >= n)
            {
                break;
            }
            if (child + 1 < n && Worse(scores[child + 1], ids[child + 1], scores[child], ids[child]))
            {
                child++;
            }
            if (!Worse(scores[child], ids[child], score, id))
            {
                break;
            }
            scores[parent] = scores[child];
            ids[parent] = ids[child];
            parent = child;
        }
        scores[parent] = score;
        ids[parent] = id;
    }
}
