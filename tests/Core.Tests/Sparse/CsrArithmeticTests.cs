using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrArithmeticTests
{
    [Fact]
    public void Add_sums_overlapping_cells_and_keeps_the_others()
    {
        // Given
        var a = CsrSamples.FromDense(new float[,] { { 1, 0, 2 }, { 0, 0, 0 }, { 0, 3, 0 } });
        var b = CsrSamples.FromDense(new float[,] { { 0.5f, 1, 0 }, { 0, 0, 4 }, { 0, 0, 0 } });

        // When
        var sum = a.Add(b);

        // Then
        Assert.Equal(new float[,] { { 1.5f, 1, 2 }, { 0, 0, 4 }, { 0, 3, 0 } }, sum.ToDense());
        Assert.True(sum.HasSortedIndices);
    }

    [Fact]
    public void Add_drops_cells_that_cancel_to_zero_as_scipy_does()
    {
        // Given
        var a = CsrSamples.FromDense(new float[,] { { 1, 2 } });
        var b = CsrSamples.FromDense(new float[,] { { -1, 0 } });

        // When
        var sum = a.Add(b);

        // Then
        Assert.Equal([1], sum.Indices);
        Assert.Equal([2f], sum.Data);
    }

    [Fact]
    public void Add_accepts_unsorted_rows_with_duplicates()
    {
        // Given rows stored out of order, one cell stored twice
        var a = CsrSamples.FromEntries(4, [(3, 1f), (0, 1f), (3, 1f)]);
        var b = CsrSamples.FromEntries(4, [(2, 5f), (0, 1f)]);

        // When
        var sum = a.Add(b);

        // Then
        Assert.Equal([(0, 2f), (2, 5f), (3, 2f)], CsrSamples.Row(sum, 0));
    }

    [Fact]
    public void Add_refuses_matrices_of_different_shapes_naming_both()
    {
        // Given
        var a = CsrMatrix.Empty(3, 4);
        var b = CsrMatrix.Empty(3, 5);

        // When
        var error = Assert.Throws<ArgumentException>(() => a.Add(b));

        // Then
        Assert.Contains("cannot add a 3 x 5 matrix to a 3 x 4 matrix", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_of_two_large_random_matrices_matches_a_dense_sum()
    {
        // Given matrices big enough to take the parallel path
        var a = RandomSparse(3000, 500, 600_000, 1);
        var b = RandomSparse(3000, 500, 600_000, 2);

        // When
        var sum = a.Add(b);

        // Then
        var expected = a.ToDense();
        var other = b.ToDense();
        for (var r = 0; r < 3000; r++)
        {
            for (var c = 0; c < 500; c++)
            {
                expected[r, c] += other[r, c];
            }
        }
        var actual = sum.ToDense();
        var mismatches = 0;
        for (var r = 0; r < 3000; r++)
        {
            for (var c = 0; c < 500; c++)
            {
                mismatches += expected[r, c] == actual[r, c] ? 0 : 1;
            }
        }
        Assert.True(sum.HasSortedIndices);
        Assert.Equal(0, mismatches);
        Assert.DoesNotContain(0f, sum.Data);
    }

    [Fact]
    public void Clip_clamps_values_and_keeps_the_structure()
    {
        // Given
        var matrix = CsrSamples.FromEntries(3, [(0, -0.5f), (1, 0.5f), (2, 1.7f)], []);

        // When
        var clipped = matrix.Clip(0, 1);

        // Then
        Assert.Equal([0f, 0.5f, 1f], clipped.Data);
        Assert.Equal(matrix.Indices, clipped.Indices);
        Assert.Equal(matrix.IndPtr, clipped.IndPtr);
        Assert.Equal(1.7f, matrix.Data[2]);
    }

    [Fact]
    public void Clip_of_a_long_row_clamps_every_value_and_keeps_NaN()
    {
        // Given 37 values (more than a few SIMD vectors plus a tail), one of them NaN
        var values = Enumerable.Range(0, 37).Select(i => (i - 18) / 6f).ToArray();
        values[5] = float.NaN;
        var matrix = CsrMatrix.FromRows(37, [Enumerable.Range(0, 37).ToArray()], [values]);

        // When
        var clipped = matrix.Clip(-1, 1);

        // Then
        for (var k = 0; k < 37; k++)
        {
            Assert.Equal(Math.Clamp(values[k], -1, 1), clipped.Data[k]);
        }
        Assert.True(float.IsNaN(clipped.Data[5]));
    }

    [Fact]
    public void Clip_refuses_bounds_in_the_wrong_order()
    {
        // Given / When
        var error = Assert.Throws<ArgumentException>(() => CsrMatrix.Empty(1, 1).Clip(1, 0));

        // Then
        Assert.Contains("min = 1, max = 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Binarize_sets_stored_values_to_one_and_drops_stored_zeros()
    {
        // Given
        var matrix = CsrSamples.FromEntries(4, [(0, 0.3f), (1, 0f), (2, -2f)], [(3, 5f)]);

        // When
        var binary = matrix.Binarize();

        // Then
        Assert.Equal([(0, 1f), (2, 1f)], CsrSamples.Row(binary, 0));
        Assert.Equal([(3, 1f)], CsrSamples.Row(binary, 1));
    }

    [Fact]
    public void EliminateZeros_removes_only_stored_zeros()
    {
        // Given
        var matrix = CsrSamples.FromEntries(3, [(2, 0f), (0, float.NaN)], [(1, 0f)], [(1, 2f)]);

        // When
        var cleaned = matrix.EliminateZeros();

        // Then
        Assert.Equal([0, 1, 1, 2], cleaned.IndPtr);
        Assert.Equal([0, 1], cleaned.Indices);
        Assert.True(float.IsNaN(cleaned.Data[0]));
    }

    internal static CsrMatrix RandomSparse(int rows, int columns, int triples, int seed)
    {
        var random = new Random(seed);
        var r = new int[triples];
        var c = new int[triples];
        var v = new float[triples];
        for (var k = 0; k < triples; k++)
        {
            r[k] = random.Next(rows);
            c[k] = random.Next(columns);
            // Quarter steps add exactly in float32, so the dense comparison needs no tolerance.
            v[k] = random.Next(-4, 5) / 4f;
        }
        return CsrMatrix.FromTriples(rows, columns, r, c, v);
    }
}
