using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrReductionTests
{
    [Fact]
    public void ColumnCounts_count_stored_non_zero_entries_per_column()
    {
        // Given a label matrix with one stored zero in column 2
        var matrix = CsrSamples.FromEntries(4, [(0, 1f), (2, 1f)], [(2, 0f)], [(0, 0.5f), (3, 1f)]);

        // When
        var counts = matrix.ColumnCounts();

        // Then
        Assert.Equal([2, 0, 1, 1], counts);
    }

    [Fact]
    public void ColumnSums_and_RowSums_add_values_in_double_precision()
    {
        // Given
        var matrix = CsrSamples.FromDense(new float[,] { { 1, 0.5f, 0 }, { 0, 0.25f, 3 } });

        // When
        var columnSums = matrix.ColumnSums();
        var rowSums = matrix.RowSums();

        // Then
        Assert.Equal([1.0, 0.75, 3.0], columnSums);
        Assert.Equal([1.5, 3.25], rowSums);
    }

    [Fact]
    public void Sums_of_an_empty_matrix_are_zero_vectors()
    {
        // Given
        var matrix = CsrMatrix.Empty(2, 3);

        // When / Then
        Assert.Equal(new double[3], matrix.ColumnSums());
        Assert.Equal(new double[2], matrix.RowSums());
        Assert.Equal(new int[3], matrix.ColumnCounts());
    }
}
