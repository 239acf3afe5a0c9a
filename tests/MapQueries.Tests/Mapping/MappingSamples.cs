using Skim.Core.Sparse;
using Skim.Models.Search;

namespace Skim.MapQueries.Tests.Mapping;

/// <summary>Small inputs for the mapping tests.</summary>
internal static class MappingSamples
{
    /// <summary>Builds a matrix from dense rows (zeros not stored).</summary>
    public static CsrMatrix Dense(float[,] cells)
    {
        var rows = new List<int>();
        var columns = new List<int>();
        var values = new List<float>();
        for (var r = 0; r < cells.GetLength(0); r++)
        {
            for (var c = 0; c < cells.GetLength(1); c++)
            {
                if (cells[r, c] != 0)
                {
                    rows.Add(r);
                    columns.Add(c);
                    values.Add(cells[r, c]);
                }
            }
        }
        return CsrMatrix.FromTriples(cells.GetLength(0), cells.GetLength(1), rows.ToArray(), columns.ToArray(), values.ToArray());
    }

    /// <summary>Builds neighbour lists from (index, cosine) rows of equal length.</summary>
    public static KnnResult Neighbours(params (int Index, float Cosine)[][] rows)
    {
        var k = rows.Length == 0 ? 0 : rows[0].Length;
        return new KnnResult(
            rows.Length,
            k,
            rows.SelectMany(r => r.Select(n => n.Index)).ToArray(),
            rows.SelectMany(r => r.Select(n => n.Cosine)).ToArray());
    }
}
