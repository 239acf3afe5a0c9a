using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

/// <summary>Small matrices written out in full, so each test states its input and expectation plainly.</summary>
internal static class CsrSamples
{
    /// <summary>Builds a canonical matrix from a dense array, storing its non-zero cells.</summary>
    public static CsrMatrix FromDense(float[,] dense)
    {
        var builder = new CsrBuilder(dense.GetLength(1));
        var indices = new List<int>();
        var values = new List<float>();
        for (var r = 0; r < dense.GetLength(0); r++)
        {
            indices.Clear();
            values.Clear();
            for (var c = 0; c < dense.GetLength(1); c++)
            {
                if (dense[r, c] != 0)
                {
                    indices.Add(c);
                    values.Add(dense[r, c]);
                }
            }
            builder.AddRow(indices.ToArray(), values.ToArray());
        }
        return builder.Build();
    }

    /// <summary>Builds a matrix from rows of (column, value) entries kept in the given order.</summary>
    public static CsrMatrix FromEntries(int columns, params (int Column, float Value)[][] rows)
    {
        var builder = new CsrBuilder(columns);
        foreach (var row in rows)
        {
            builder.AddRow(row.Select(e => e.Column).ToArray(), row.Select(e => e.Value).ToArray());
        }
        return builder.Build();
    }

    /// <summary>Lists a row's stored entries in order.</summary>
    public static (int Column, float Value)[] Row(CsrMatrix matrix, int row)
    {
        var indices = matrix.RowIndices(row).ToArray();
        var values = matrix.RowValues(row).ToArray();
        return indices.Zip(values).ToArray();
    }

    /// <summary>A seeded random matrix with unsorted rows, duplicate cells, stored zeros and empty rows.</summary>
    public static CsrMatrix RandomMessy(int rows, int columns, int seed)
    {
        var random = new Random(seed);
        var builder = new CsrBuilder(columns);
        for (var r = 0; r < rows; r++)
        {
            var length = random.Next(4) == 0 ? 0 : random.Next(1, 9);
            var indices = new int[length];
            var values = new float[length];
            for (var k = 0; k < length; k++)
            {
                indices[k] = random.Next(columns);
                values[k] = random.Next(6) == 0 ? 0f : random.Next(1, 5) / 4f;
            }
            builder.AddRow(indices, values);
        }
        return builder.Build();
    }
}
