using Skim.Core.Sparse;

namespace Skim.Core.Tests.Metrics;

/// <summary>Small matrices shared by the metric tests, built from readable row lists.</summary>
internal static class MetricsFixtures
{
    /// <summary>Gets a script of bench/reference/.</summary>
    public static string ReferenceScript(string name) => PythonReference.Script(name);

    /// <summary>Builds a CSR matrix from rows of (label, value) pairs, kept in the order given.</summary>
    public static CsrMatrix Matrix(int columns, params (int Label, float Value)[][] rows)
    {
        var indPtr = new int[rows.Length + 1];
        var indices = new List<int>();
        var data = new List<float>();
        for (var r = 0; r < rows.Length; r++)
        {
            foreach (var (label, value) in rows[r])
            {
                indices.Add(label);
                data.Add(value);
            }
            indPtr[r + 1] = indices.Count;
        }
        return new CsrMatrix(rows.Length, columns, indPtr, [.. indices], [.. data]);
    }

    /// <summary>Builds a binary CSR matrix from rows of label ids.</summary>
    public static CsrMatrix Binary(int columns, params int[][] rows) =>
        Matrix(columns, [.. rows.Select(r => r.Select(l => (l, 1f)).ToArray())]);

    /// <summary>The test rows of docs/xc-formats-and-metrics.md §3.3: {0,2}, {1,5}, {3} and an empty row, over 6 labels.</summary>
    public static CsrMatrix GoldenTruth() => Binary(6, [0, 2], [1, 5], [3], []);

    /// <summary>The score rows of docs/xc-formats-and-metrics.md §3.3.</summary>
    public static CsrMatrix GoldenScores() => Matrix(
        6,
        [(0, .9f), (1, .8f), (2, .1f)],
        [(0, .2f), (1, .7f), (3, .6f), (5, .5f)],
        [(3, .3f)],
        [(0, .5f), (4, .4f)]);

    /// <summary>A train matrix of 5 rows whose label frequencies are (4, 2, 1, 1, 1, 1).</summary>
    public static CsrMatrix GoldenTrain() => Binary(6, [0, 1], [0, 1, 2], [0, 3], [0, 4], [5]);

    /// <summary>Returns every value × 100, rounded to 2 decimals as pyxclib's <c>format</c> prints.</summary>
    public static double[] Percent(IEnumerable<double> values) => [.. values.Select(v => Math.Round(v * 100, 2, MidpointRounding.ToEven))];

    /// <summary>A random score matrix with ties (scores on a coarse grid) and rows of 0..maxPerRow entries.</summary>
    public static CsrMatrix RandomScores(Random random, int rows, int columns, int maxPerRow, bool withNegatives = false)
    {
        var list = new List<(int, float)[]>();
        for (var r = 0; r < rows; r++)
        {
            var n = random.Next(0, maxPerRow + 1);
            var labels = Enumerable.Range(0, columns).OrderBy(_ => random.Next()).Take(n);
            list.Add([.. labels.Select(l => (l, (float)(random.Next(withNegatives ? -5 : 0, 11) / 10.0)))]);
        }
        return Matrix(columns, [.. list]);
    }

    /// <summary>A random ground truth with 0..maxPerRow labels per row, binary or with values in {0.5, 1, 2}.</summary>
    public static CsrMatrix RandomTruth(Random random, int rows, int columns, int maxPerRow, bool binary)
    {
        float[] levels = [0.5f, 1f, 2f];
        var list = new List<(int, float)[]>();
        for (var r = 0; r < rows; r++)
        {
            var n = random.Next(0, maxPerRow + 1);
            var labels = Enumerable.Range(0, columns).OrderBy(_ => random.Next()).Take(n).Order();
            list.Add([.. labels.Select(l => (l, binary ? 1f : levels[random.Next(levels.Length)]))]);
        }
        return Matrix(columns, [.. list]);
    }
}
