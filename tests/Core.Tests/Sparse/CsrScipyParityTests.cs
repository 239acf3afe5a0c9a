using System.Globalization;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

/// <summary>Cross-checks the operations against scipy.sparse on seeded random triples with duplicates.</summary>
public class CsrScipyParityTests
{
    // Reads triples of two matrices, prints indptr/indices/data of the scipy results, one array a line.
    private const string ScipyScript = """
        import sys
        import numpy as np
        import scipy.sparse as sp
        rows, cols = int(sys.argv[2]), int(sys.argv[3])
        t = np.loadtxt(sys.argv[1], dtype=np.float64, ndmin=2)
        def make(part):
            p = t[t[:, 0] == part]
            m = sp.coo_matrix((p[:, 3].astype(np.float32), (p[:, 1].astype(np.int64), p[:, 2].astype(np.int64))), shape=(rows, cols)).tocsr()
            m.sum_duplicates()
            return m
        a, b = make(0), make(1)
        s = (a + b).tocsr(); s.sort_indices()
        at = a.T.tocsr(); at.sort_indices()
        for m in (a, s, at):
            for arr in (m.indptr, m.indices, m.data):
                print(' '.join(repr(float(x)) if arr is m.data else str(int(x)) for x in arr))
        print(' '.join(str(int(x)) for x in np.ravel((a != 0).sum(axis=0))))
        """;

    [SkippableFact]
    public void FromTriples_Add_Transpose_and_ColumnCounts_match_scipy()
    {
        // Given two seeded random sets of triples with many duplicate cells and cancelling values
        PythonReference.Require("numpy", "scipy");
        const int rows = 60;
        const int columns = 45;
        var random = new Random(11);
        var parts = new List<(int Part, int Row, int Column, float Value)>();
        for (var k = 0; k < 1500; k++)
        {
            parts.Add((random.Next(2), random.Next(rows), random.Next(columns), random.Next(-3, 4) / 2f));
        }
        using var folder = new TempDirectory();
        var triplesPath = folder.File("triples.txt");
        File.WriteAllLines(triplesPath, parts.Select(p =>
            string.Create(CultureInfo.InvariantCulture, $"{p.Part} {p.Row} {p.Column} {p.Value:R}")));
        CsrMatrix Make(int part)
        {
            var chosen = parts.Where(p => p.Part == part).ToArray();
            return CsrMatrix.FromTriples(rows, columns, chosen.Select(p => p.Row).ToArray(), chosen.Select(p => p.Column).ToArray(), chosen.Select(p => p.Value).ToArray());
        }

        // When
        var a = Make(0);
        var b = Make(1);
        var ours = new[] { a, a.Add(b), a.Transpose() };
        var lines = PythonReference.RunCode(ScipyScript, triplesPath, rows.ToString(CultureInfo.InvariantCulture), columns.ToString(CultureInfo.InvariantCulture))
            .Split('\n');

        // Then each matrix has scipy's exact arrays (sum of duplicates, zeros from cancellation dropped by +)
        for (var m = 0; m < ours.Length; m++)
        {
            Assert.Equal(Ints(lines[3 * m]), ours[m].IndPtr);
            Assert.Equal(Ints(lines[(3 * m) + 1]), ours[m].Indices);
            Assert.Equal(Floats(lines[(3 * m) + 2]), ours[m].Data);
        }
        Assert.Equal(Ints(lines[9]), a.ColumnCounts());
    }

    private static int[] Ints(string line) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    private static float[] Floats(string line) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();
}
