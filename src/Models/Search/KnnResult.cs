using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.Sparse;

namespace Skim.Models.Search;

/// <summary>
/// The k nearest database rows of each query row, as SKIM's <c>gpu_anns.py</c> stores them in
/// <c>ngbr_indices_mat.npy</c> (int32) and <c>ngbr_scores_mat.npy</c> (float32): two row-major
/// (queries × k) arrays, each row sorted by score descending, equal scores by ascending index.
/// </summary>
public sealed class KnnResult
{
    /// <summary>The file name SKIM gives the neighbour indices.</summary>
    public const string IndicesFileName = "ngbr_indices_mat.npy";

    /// <summary>The file name SKIM gives the neighbour scores.</summary>
    public const string ScoresFileName = "ngbr_scores_mat.npy";

    // Rows are copied out of the memory maps this many elements at a time when columns are dropped.
    private const int ReadBlockElements = 1 << 20;

    /// <summary>Wraps (not copies) the arrays of <paramref name="rows"/> × <paramref name="k"/> neighbours.</summary>
    /// <exception cref="ArgumentException">The array lengths are not rows × k.</exception>
    public KnnResult(int rows, int k, int[] indices, float[] scores)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(scores);
        if (indices.LongLength != (long)rows * k || scores.LongLength != (long)rows * k)
        {
            throw new ArgumentException($"{rows} x {k} neighbours need {(long)rows * k} indices and scores, found {indices.LongLength} and {scores.LongLength}", nameof(indices));
        }
        Rows = rows;
        K = k;
        Indices = indices;
        Scores = scores;
    }

    /// <summary>Gets the number of query rows.</summary>
    public int Rows { get; }

    /// <summary>Gets the number of neighbours per row.</summary>
    public int K { get; }

    /// <summary>Gets the database row of each neighbour, row-major (Rows × K).</summary>
    public int[] Indices { get; }

    /// <summary>Gets the score (inner product) of each neighbour, row-major (Rows × K).</summary>
    public float[] Scores { get; }

    /// <summary>Gets the neighbours of query row <paramref name="row"/>, best first.</summary>
    public ReadOnlySpan<int> RowIndices(int row) => Indices.AsSpan(row * K, K);

    /// <summary>Gets the scores of query row <paramref name="row"/>, descending.</summary>
    public ReadOnlySpan<float> RowScores(int row) => Scores.AsSpan(row * K, K);

    /// <summary>
    /// Merges the searches of the same queries against consecutive shards of the targets into the
    /// search of all targets: shard s searched the targets from <paramref name="firstTargets"/>[s] and
    /// numbered them from 0. Each row keeps its <paramref name="k"/> best by score descending, then
    /// global target index ascending — the order one search gives — so the merge equals one run as long
    /// as every shard kept at least <paramref name="k"/> neighbours (or all its targets).
    /// </summary>
    /// <exception cref="ArgumentException">The shards differ in rows, the offsets do not match them, or they hold fewer than k candidates in all.</exception>
    public static KnnResult MergeTargetShards(IReadOnlyList<KnnResult> shards, IReadOnlyList<long> firstTargets, int k)
    {
        ArgumentNullException.ThrowIfNull(shards);
        ArgumentNullException.ThrowIfNull(firstTargets);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (shards.Count == 0 || shards.Count != firstTargets.Count)
        {
            throw new ArgumentException($"expected one first target per shard, found {shards.Count} shards and {firstTargets.Count} offsets", nameof(firstTargets));
        }
        var rows = shards[0].Rows;
        if (shards.Any(s => s.Rows != rows))
        {
            throw new ArgumentException($"the shards hold different query rows: {string.Join(", ", shards.Select(s => s.Rows))}", nameof(shards));
        }
        var candidates = shards.Sum(s => s.K);
        if (candidates < k)
        {
            throw new ArgumentException($"the shards hold {candidates} neighbours per row in all, fewer than k = {k}", nameof(shards));
        }
        var indices = GC.AllocateUninitializedArray<int>(checked(rows * k));
        var scores = GC.AllocateUninitializedArray<float>(checked(rows * k));
        var pool = new (float Score, long Index)[candidates];
        for (var row = 0; row < rows; row++)
        {
            var n = 0;
            for (var s = 0; s < shards.Count; s++)
            {
                var shardIndices = shards[s].RowIndices(row);
                var shardScores = shards[s].RowScores(row);
                for (var j = 0; j < shardIndices.Length; j++)
                {
                    pool[n++] = (shardScores[j], firstTargets[s] + shardIndices[j]);
                }
            }
            Array.Sort(pool, static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Index.CompareTo(b.Index));
            for (var j = 0; j < k; j++)
            {
                indices[(row * k) + j] = checked((int)pool[j].Index);
                scores[(row * k) + j] = pool[j].Score;
            }
        }
        return new KnnResult(rows, k, indices, scores);
    }

    /// <summary>
    /// Reads a neighbour pair of files. Indices may be int32 or int64 (then they must fit int32),
    /// scores float32. With <paramref name="maxColumns"/> only the first columns of each row are
    /// read (SKIM stores 200 neighbours and maps with the first 10), so a file far larger than
    /// memory can be used.
    /// </summary>
    /// <exception cref="SkimFormatException">A file is not a 2-d array of the expected dtype, or the two shapes differ.</exception>
    public static KnnResult Load(string indicesPath, string scoresPath, int? maxColumns = null)
    {
        ArgumentNullException.ThrowIfNull(indicesPath);
        ArgumentNullException.ThrowIfNull(scoresPath);
        if (maxColumns is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxColumns), maxColumns, "expected a non-negative column count");
        }
        using var indexMap = NpyMemoryMap.Open(indicesPath);
        using var scoreMap = NpyMemoryMap.Open(scoresPath);
        CheckMatrix(indexMap, "int32 or int64", d => d is NpyDType.Int32 or NpyDType.Int64);
        CheckMatrix(scoreMap, "float32", d => d is NpyDType.Float32);
        if (indexMap.Header.Shape[0] != scoreMap.Header.Shape[0] || indexMap.Header.Shape[1] != scoreMap.Header.Shape[1])
        {
            throw new SkimFormatException(scoresPath, null, $"expected the shape of {indicesPath}, {indexMap.Header.ShapeText}, found {scoreMap.Header.ShapeText}");
        }
        var rows = indexMap.Rows;
        var width = indexMap.RowLength;
        var k = maxColumns is { } m ? Math.Min(width, m) : width;
        CsrMatrix.EnsureNonZerosFit(rows * k, indicesPath);
        if (rows > int.MaxValue)
        {
            throw new SkimFormatException(indicesPath, null, $"expected at most {int.MaxValue} rows, found {rows}");
        }
        var indices = GC.AllocateUninitializedArray<int>((int)(rows * k));
        var scores = GC.AllocateUninitializedArray<float>((int)(rows * k));
        var blockRows = (int)Math.Max(1, Math.Min(rows, ReadBlockElements / Math.Max(1, width)));
        var longBuffer = indexMap.Header.DType == NpyDType.Int64 ? new long[blockRows * width] : [];
        var intBuffer = new int[blockRows * width];
        var floatBuffer = new float[blockRows * width];
        for (long first = 0; first < rows; first += blockRows)
        {
            var count = (int)Math.Min(blockRows, rows - first);
            var elements = (int)(count * width);
            if (indexMap.Header.DType == NpyDType.Int64)
            {
                indexMap.ReadRows<long>(first, longBuffer.AsSpan(0, elements));
                for (var e = 0; e < elements; e++)
                {
                    var value = longBuffer[e];
                    if (value is < int.MinValue or > int.MaxValue)
                    {
                        throw new SkimFormatException(indicesPath, $"row {first + (e / width)}", $"expected an index that fits int32, found {value}");
                    }
                    intBuffer[e] = (int)value;
                }
            }
            else
            {
                indexMap.ReadRows<int>(first, intBuffer.AsSpan(0, elements));
            }
            scoreMap.ReadRows<float>(first, floatBuffer.AsSpan(0, elements));
            for (var r = 0; r < count; r++)
            {
                var to = (int)((first + r) * k);
                intBuffer.AsSpan((int)(r * width), (int)k).CopyTo(indices.AsSpan(to));
                floatBuffer.AsSpan((int)(r * width), (int)k).CopyTo(scores.AsSpan(to));
            }
        }
        return new KnnResult((int)rows, (int)k, indices, scores);
    }

    /// <summary>Writes the two files atomically (int32 indices, float32 scores), as <c>numpy.save</c> would.</summary>
    public void Save(string indicesPath, string scoresPath)
    {
        NpyFile.Write(indicesPath, NpyArray.Create(Indices, Rows, K));
        NpyFile.Write(scoresPath, NpyArray.Create(Scores, Rows, K));
    }

    private static void CheckMatrix(NpyMemoryMap map, string expected, Func<NpyDType, bool> accepts)
    {
        if (map.Header.Rank != 2)
        {
            throw new SkimFormatException(map.Path, null, $"expected a 2-d (queries, k) array, found shape {map.Header.ShapeText}");
        }
        if (!accepts(map.Header.DType))
        {
            throw new SkimFormatException(map.Path, null, $"expected dtype {expected}, found {map.Header.DType.Descr()}");
        }
    }
}
