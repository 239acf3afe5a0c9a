using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrFromTriplesTests
{
    [Fact]
    public void Rows_come_out_sorted_by_column_with_duplicates_summed()
    {
        // Given triples in no particular order, two of them on cell (1, 2)
        int[] rows = [1, 0, 1, 1, 2];
        int[] columns = [3, 1, 2, 2, 0];
        float[] values = [1f, 2f, 0.25f, 0.5f, 4f];

        // When
        var matrix = CsrMatrix.FromTriples(3, 4, rows, columns, values);

        // Then
        Assert.Equal([0, 1, 3, 4], matrix.IndPtr);
        Assert.Equal([1, 2, 3, 0], matrix.Indices);
        Assert.Equal([2f, 0.75f, 1f, 4f], matrix.Data);
        Assert.True(matrix.HasSortedIndices);
    }

    [Fact]
    public void Max_reduction_keeps_the_largest_duplicate_where_sum_adds_them()
    {
        // Given three triples on cell (0, 1)
        int[] rows = [0, 0, 0];
        int[] columns = [1, 1, 1];
        float[] values = [0.8f, 0.9f, 0.85f];

        // When
        var summed = CsrMatrix.FromTriples(1, 2, rows, columns, values, DuplicateReduction.Sum);
        var maxed = CsrMatrix.FromTriples(1, 2, rows, columns, values, DuplicateReduction.Max);

        // Then
        Assert.Equal(0.8f + 0.9f + 0.85f, summed.Get(0, 1), 5);
        Assert.Equal(0.9f, maxed.Get(0, 1));
        Assert.Equal(1, maxed.NonZeros);
    }

    [Fact]
    public void A_long_row_with_many_duplicates_is_sorted_and_reduced_like_a_dictionary()
    {
        // Given 500 triples in one row over 60 columns (rows this long take the packed-key sort)
        var random = new Random(5);
        var columns = Enumerable.Range(0, 500).Select(_ => random.Next(60)).ToArray();
        var values = Enumerable.Range(0, 500).Select(_ => random.Next(1, 9) / 8f).ToArray();
        var rows = new int[500];

        // When
        var summed = CsrMatrix.FromTriples(1, 60, rows, columns, values, DuplicateReduction.Sum);
        var maxed = CsrMatrix.FromTriples(1, 60, rows, columns, values, DuplicateReduction.Max);

        // Then
        var groups = columns.Zip(values).GroupBy(e => e.First).OrderBy(g => g.Key).ToArray();
        Assert.Equal(groups.Select(g => g.Key).ToArray(), summed.Indices);
        Assert.Equal(groups.Select(g => g.Sum(e => e.Second)).ToArray(), summed.Data);
        Assert.Equal(groups.Select(g => g.Key).ToArray(), maxed.Indices);
        Assert.Equal(groups.Select(g => g.Max(e => e.Second)).ToArray(), maxed.Data);
    }

    [Fact]
    public void No_triples_give_an_empty_matrix_of_the_requested_shape()
    {
        // Given / When
        var matrix = CsrMatrix.FromTriples(4, 7, [], [], []);

        // Then
        Assert.Equal((4, 7, 0), (matrix.Rows, matrix.Columns, matrix.NonZeros));
        Assert.Equal(new int[5], matrix.IndPtr);
    }

    [Fact]
    public void A_zero_by_zero_matrix_is_allowed()
    {
        // Given / When
        var matrix = CsrMatrix.FromTriples(0, 0, [], [], []);

        // Then
        Assert.Equal([0], matrix.IndPtr);
        Assert.Equal(0, matrix.Transpose().Rows);
    }

    [Fact]
    public void Stored_zeros_are_kept_as_scipy_keeps_them()
    {
        // Given / When
        var matrix = CsrMatrix.FromTriples(1, 3, [0, 0], [2, 0], [0f, 1f]);

        // Then
        Assert.Equal([0, 2], matrix.Indices);
        Assert.Equal([1f, 0f], matrix.Data);
    }

    [Fact]
    public void A_column_beyond_the_shape_is_refused_naming_the_triple()
    {
        // Given a triple whose column is 5 in a 2 x 5 matrix
        // When
        var error = Assert.Throws<SkimDataException>(() => CsrMatrix.FromTriples(2, 5, [0, 1], [0, 5], [1f, 1f]));

        // Then
        Assert.Contains("triple 1: column 5 is outside [0, 5)", error.Message, StringComparison.Ordinal);
        Assert.Equal("triple 1", error.Location);
    }

    [Fact]
    public void A_negative_row_is_refused()
    {
        // Given / When
        var error = Assert.Throws<SkimDataException>(() => CsrMatrix.FromTriples(2, 5, [-1], [0], [1f]));

        // Then
        Assert.Contains("row -1", error.Message, StringComparison.Ordinal);
        Assert.Equal("triple 0: row -1 is outside [0, 2)", error.Message);
    }

    [Fact]
    public void Triples_of_different_lengths_are_refused()
    {
        // Given / When
        var error = Assert.Throws<ArgumentException>(() => CsrMatrix.FromTriples(2, 2, [0, 1], [0], [1f, 1f]));

        // Then
        Assert.Contains("2 row ids, 1 column ids and 2 values", error.Message, StringComparison.Ordinal);
    }
}
