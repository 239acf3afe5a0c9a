using System.Numerics;
using System.Runtime.InteropServices;
using Skim.Core;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// NGAME's balanced hierarchical 2-means (pyxclib <c>cluster_balance</c> with the splitter
/// <c>b_kmeans_dense</c>): every round splits every cluster into two halves of sizes ⌈n/2⌉ and ⌊n/2⌋,
/// so after k rounds all clusters hold ⌊N/2^k⌋ or ⌈N/2^k⌉ rows.
/// </summary>
/// <remarks>
/// <para>One split (b_kmeans_dense, cosine): rows are L2-normalised (a zero row stays zero); two
/// distinct random rows are the first centroids; then repeat { d = sim(c1) − sim(c0) per row;
/// the ⌈n/2⌉ rows with the smallest d (those nearest c0) form cluster 0, the rest cluster 1;
/// centroids = normalised means; objective = Σ sim(own centroid) / n } until the objective improves
/// by less than the tolerance (1e-4) or <see cref="DefaultMaxIterations"/> iterations ran (pyxclib
/// has no cap). As in pyxclib the returned halves are the partition the last centroids were computed
/// from, each in ascending-d order. The objective uses Σ_{x∈C} x·S/|S| = |S| with S the sum of the
/// cluster's normalised rows, and S0 = S − S1 with S the split's total, so an iteration reads the
/// rows one and a half times.</para>
/// <para>The requested count is rounded <b>up</b> to a power of two, because pyxclib keeps splitting
/// every cluster while there are fewer clusters than asked for (NGAME asks for N/2, N/4, … and
/// gets 2^⌈log2⌉). A cluster of one row is not split, so asking for more clusters than rows yields
/// singletons (pyxclib would loop forever).</para>
/// <para>Deterministic given the seed, whatever the thread count: each split draws its first
/// centroids from its own <see cref="Random"/>, seeded from (seed, round, cluster position); sums
/// over rows run in fixed blocks added in block order; per-row values do not depend on scheduling.
/// Rounds with few clusters parallelise inside a split, later rounds across clusters.</para>
/// <para>Cost: a split iterates about ten times and every round touches all N rows, so clustering
/// into 2^k reads N×D values about 15·k times. Measured for 100K × 768 random rows into 1024
/// clusters (10 rounds, 7–10 iterations per split): 30–55 s on two cores shared with other jobs
/// (load average 12); the time grows linearly in N·D·k, so 300K × 768 into 2^18 clusters takes a few
/// minutes. The float[] overload reads the caller's array in place (no copy, no normalised copy).</para>
/// </remarks>
public static class BalancedKMeans
{
    /// <summary>The objective improvement below which a split stops (pyxclib's <c>tol</c>).</summary>
    public const double DefaultTolerance = 1e-4;

    /// <summary>The most iterations one split runs; pyxclib has no cap, and splits converge in a few dozen.</summary>
    public const int DefaultMaxIterations = 100;

    // Rows per block for the block-ordered sums (and the unit of parallel work inside a split).
    private const int BlockRows = 2048;

    /// <summary>Clusters row-major (rows × dim) embeddings; copies the span into an array first.</summary>
    /// <inheritdoc cref="Cluster(float[], int, int, int, int, double, int, int)"/>
    public static int[][] Cluster(ReadOnlySpan<float> embeddings, int rows, int dim, int clusters, int seed) =>
        Cluster(embeddings.ToArray(), rows, dim, clusters, seed);

    /// <summary>
    /// Splits the rows of <paramref name="embeddings"/> into the smallest power of two of clusters
    /// that is at least <paramref name="clusters"/> (fewer when there are not enough rows), with
    /// sizes that differ by at most one.
    /// </summary>
    /// <param name="embeddings">Row-major (rows × dim) embeddings; read, never changed. Need not be normalised.</param>
    /// <param name="rows">Number of rows N (at least 1).</param>
    /// <param name="dim">Embedding dimension D (at least 1).</param>
    /// <param name="clusters">Requested number of clusters (at least 1), rounded up to a power of two.</param>
    /// <param name="seed">Seed of every random choice.</param>
    /// <param name="tolerance">Stop a split when the objective improves by less than this.</param>
    /// <param name="maxIterations">The most iterations per split.</param>
    /// <param name="maxDegreeOfParallelism">Threads to use; -1 for all cores. Does not change the result.</param>
    /// <returns>The clusters as arrays of row ids; every row is in exactly one. Children replace their parent in place, cluster 0 first.</returns>
    /// <exception cref="SkimDataException">An embedding value is NaN or infinite.</exception>
    /// <exception cref="ArgumentException">The array length is not rows × dim, or a count is below 1.</exception>
    public static int[][] Cluster(
        float[] embeddings,
        int rows,
        int dim,
        int clusters,
        int seed,
        double tolerance = DefaultTolerance,
        int maxIterations = DefaultMaxIterations,
        int maxDegreeOfParallelism = -1)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(clusters, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIterations, 1);
        if ((long)rows * dim != embeddings.Length)
        {
            throw new ArgumentException($"expected rows × dim = {(long)rows * dim} values, found {embeddings.Length}", nameof(embeddings));
        }
        var threads = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount;
        var data = new Data(embeddings, dim, InverseNorms(embeddings, rows, dim, threads), tolerance, maxIterations, threads);
        var target = RoundUpToPowerOfTwo(clusters);
        var current = new List<int[]> { Enumerable.Range(0, rows).ToArray() };
        for (var round = 0; current.Count < target && current.Exists(c => c.Length > 1); round++)
        {
            var parents = current;
            var children = new int[parents.Count][][];
            // Few large clusters: parallel blocks inside each split. Many: one split per thread.
            if (parents.Count >= threads && threads > 1)
            {
                Parallel.For(0, parents.Count, new ParallelOptions { MaxDegreeOfParallelism = threads },
                    i => children[i] = Split(data, parents[i], SplitSeed(seed, round, i), parallel: false));
            }
            else
            {
                for (var i = 0; i < parents.Count; i++)
                {
                    children[i] = Split(data, parents[i], SplitSeed(seed, round, i), parallel: threads > 1);
                }
            }
            current = new List<int[]>(parents.Count * 2);
            foreach (var pair in children)
            {
                current.AddRange(pair);
            }
        }
        return [.. current];
    }

    /// <summary>Returns the smallest power of two that is at least <paramref name="clusters"/> (pyxclib's effective count).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clusters"/> is below 1 or above 2^30.</exception>
    public static int RoundUpToPowerOfTwo(int clusters)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clusters, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(clusters, 1 << 30);
        return (int)BitOperations.RoundUpToPowerOf2((uint)clusters);
    }

    private sealed record Data(float[] Values, int Dim, float[] InverseNorm, double Tolerance, int MaxIterations, int Threads)
    {
        public ReadOnlySpan<float> Row(int row) => Values.AsSpan(row * Dim, Dim);
    }

    private static float[] InverseNorms(float[] values, int rows, int dim, int threads)
    {
        var inverse = new float[rows];
        Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = threads }, r =>
        {
            var row = values.AsSpan(r * dim, dim);
            var norm = Math.Sqrt(Dot(row, row));
            // sklearn's normalize leaves a zero row at zero; a non-finite norm is reported below.
            inverse[r] = norm > 0 ? (float)(1 / norm) : double.IsFinite(norm) ? 0f : float.NaN;
        });
        for (var r = 0; r < rows; r++)
        {
            if (!float.IsFinite(inverse[r]))
            {
                throw new SkimDataException(null, $"row {r}", "embedding has a NaN or infinite value");
            }
        }
        return inverse;
    }

    private static int[][] Split(Data data, int[] members, int seed, bool parallel)
    {
        var n = members.Length;
        if (n < 2)
        {
            return [members];
        }
        var dim = data.Dim;
        var random = new Random(seed);
        var first = random.Next(n);
        var second = random.Next(n - 1);
        if (second >= first)
        {
            second++;
        }
        // w = c1 − c0, so that d = x̂·w = sim(c1) − sim(c0) costs one dot product per row.
        var direction = new float[dim];
        var a = data.Row(members[first]);
        var b = data.Row(members[second]);
        for (var t = 0; t < dim; t++)
        {
            direction[t] = (b[t] * data.InverseNorm[members[second]]) - (a[t] * data.InverseNorm[members[first]]);
        }
        var keys = new float[n];
        var order = new int[n];
        var half = (n + 1) / 2;
        var sum0 = new double[dim];
        var sum1 = new double[dim];
        // S0 = total − S1: one half-pass per iteration instead of two.
        var total = new double[dim];
        for (var p = 0; p < n; p++)
        {
            order[p] = p;
        }
        SumRows(data, members, order, 0, n, total, parallel);
        double previous;
        var objective = -2.0;
        for (var iteration = 1; ; iteration++)
        {
            Differences(data, members, direction, keys, parallel);
            for (var p = 0; p < n; p++)
            {
                order[p] = p;
            }
            Array.Sort(keys, order);
            SumRows(data, members, order, half, n, sum1, parallel);
            for (var t = 0; t < dim; t++)
            {
                sum0[t] = total[t] - sum1[t];
            }
            var norm0 = Math.Sqrt(Dot(sum0, sum0));
            var norm1 = Math.Sqrt(Dot(sum1, sum1));
            previous = objective;
            objective = (norm0 + norm1) / n;
            if (objective - previous < data.Tolerance || iteration >= data.MaxIterations)
            {
                break;
            }
            for (var t = 0; t < dim; t++)
            {
                var c1 = norm1 > 0 ? sum1[t] / norm1 : 0;
                var c0 = norm0 > 0 ? sum0[t] / norm0 : 0;
                direction[t] = (float)(c1 - c0);
            }
        }
        var cluster0 = new int[half];
        var cluster1 = new int[n - half];
        for (var p = 0; p < half; p++)
        {
            cluster0[p] = members[order[p]];
        }
        for (var p = half; p < n; p++)
        {
            cluster1[p - half] = members[order[p]];
        }
        return [cluster0, cluster1];
    }

    private static void Differences(Data data, int[] members, float[] direction, float[] keys, bool parallel)
    {
        var blocks = (members.Length + BlockRows - 1) / BlockRows;
        void Block(int block)
        {
            var end = Math.Min(members.Length, (block + 1) * BlockRows);
            for (var p = block * BlockRows; p < end; p++)
            {
                var row = members[p];
                keys[p] = (float)(Dot(data.Row(row), direction) * data.InverseNorm[row]);
            }
        }
        ForEachBlock(blocks, parallel ? data.Threads : 1, Block);
    }

    // sum = Σ normalised rows members[order[start..end)], in float per fixed block, blocks added in order.
    private static void SumRows(Data data, int[] members, int[] order, int start, int end, double[] sum, bool parallel)
    {
        var dim = data.Dim;
        var blocks = (end - start + BlockRows - 1) / BlockRows;
        var partial = new float[blocks * dim];
        void Block(int block)
        {
            var acc = partial.AsSpan(block * dim, dim);
            var stop = Math.Min(end, start + ((block + 1) * BlockRows));
            for (var p = start + (block * BlockRows); p < stop; p++)
            {
                var row = members[order[p]];
                AddScaled(acc, data.Row(row), data.InverseNorm[row]);
            }
        }
        ForEachBlock(blocks, parallel ? data.Threads : 1, Block);
        Array.Clear(sum);
        for (var block = 0; block < blocks; block++)
        {
            var acc = partial.AsSpan(block * dim, dim);
            for (var t = 0; t < dim; t++)
            {
                sum[t] += acc[t];
            }
        }
    }

    // Blocks write disjoint outputs, so running them in parallel or in turn gives the same result.
    private static void ForEachBlock(int blocks, int threads, Action<int> block)
    {
        if (threads > 1 && blocks > 1)
        {
            Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, block);
            return;
        }
        for (var b = 0; b < blocks; b++)
        {
            block(b);
        }
    }

    private static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var width = Vector<float>.Count;
        var vectors = x.Length / width;
        var acc = Vector<float>.Zero;
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x[..(vectors * width)]);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y[..(vectors * width)]);
        for (var i = 0; i < vectors; i++)
        {
            acc += vx[i] * vy[i];
        }
        double total = Vector.Sum(acc);
        for (var i = vectors * width; i < x.Length; i++)
        {
            total += x[i] * y[i];
        }
        return total;
    }

    private static double Dot(double[] x, double[] y)
    {
        var total = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            total += x[i] * y[i];
        }
        return total;
    }

    private static void AddScaled(Span<float> acc, ReadOnlySpan<float> row, float scale)
    {
        var width = Vector<float>.Count;
        var vectors = row.Length / width;
        var va = MemoryMarshal.Cast<float, Vector<float>>(acc[..(vectors * width)]);
        var vr = MemoryMarshal.Cast<float, Vector<float>>(row[..(vectors * width)]);
        var vs = new Vector<float>(scale);
        for (var i = 0; i < vectors; i++)
        {
            va[i] += vr[i] * vs;
        }
        for (var i = vectors * width; i < row.Length; i++)
        {
            acc[i] += row[i] * scale;
        }
    }

    // SplitMix64 chained over (seed, round, index): reproducible seeds whatever the scheduling.
    private static int SplitSeed(int seed, int round, int index) =>
        (int)(uint)Mix(Mix(Mix((uint)seed) ^ (uint)round) ^ (uint)index);

    private static ulong Mix(ulong z)
    {
        z = unchecked(z + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
