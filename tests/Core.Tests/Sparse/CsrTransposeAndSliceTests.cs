using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrTransposeAndSliceTests
{
    [Fact]
    public void Transpose_swaps_rows_and_columns()
    {
        // Given a 2 x 3 matrix
        var matrix = CsrSamples.FromDense(new float[,] { { 1, 0, 2 }, { 0, 3, 4 } });

        // When
        var transposed = matrix.Transpose();

        // Then
        Assert.Equal((3, 2), (transposed.Rows, transposed.Columns));
        Assert.Equal(new float[,] { { 1, 0 }, { 0, 3 }, { 2, 4 } }, transposed.ToDense());
        Assert.True(transposed.HasSortedIndices);
    }

    [Fact]
    public void Transposing_twice_gives_back_a_sorted_matrix_exactly()
    {
        // Given a random canonical matrix with empty rows and empty columns
        var matrix = CsrArithmeticTests.RandomSparse(200, 300, 900, 7);

        // When
        var twice = matrix.Transpose().Transpose();

        // Then
        Assert.Equal(matrix.IndPtr, twice.IndPtr);
        Assert.Equal(matrix.Indices, twice.Indices);
        Assert.Equal(matrix.Data, twice.Data);
    }

    [Fact]
    public void Transpose_of_an_empty_matrix_is_empty_with_swapped_shape()
    {
        // Given / When
        var transposed = CsrMatrix.Empty(5, 2).Transpose();

        // Then
        Assert.Equal((2, 5, 0), (transposed.Rows, transposed.Columns, transposed.NonZeros));
        Assert.Equal(new int[3], transposed.IndPtr);
    }

    [Fact]
    public void SliceRows_by_list_returns_rows_in_the_listed_order_with_repeats()
    {
        // Given
        var matrix = CsrSamples.FromDense(new float[,] { { 1, 0 }, { 0, 0 }, { 0, 2 } });

        // When
        var slice = matrix.SliceRows([2, 0, 2, 1]);

        // Then
        Assert.Equal(new float[,] { { 0, 2 }, { 1, 0 }, { 0, 2 }, { 0, 0 } }, slice.ToDense());
        Assert.Equal([0, 1, 2, 3, 3], slice.IndPtr);
    }

    [Fact]
    public void SliceRows_by_range_shifts_the_row_pointers()
    {
        // Given
        var matrix = CsrSamples.FromDense(new float[,] { { 1, 0 }, { 0, 3 }, { 5, 2 }, { 0, 0 } });

        // When
        var slice = matrix.SliceRows(1, 3);

        // Then
        Assert.Equal([0, 1, 3, 3], slice.IndPtr);
        Assert.Equal([1, 0, 1], slice.Indices);
        Assert.Equal([3f, 5f, 2f], slice.Data);
    }

    [Fact]
    public void SliceRows_of_nothing_is_an_empty_matrix()
    {
        // Given
        var matrix = CsrSamples.FromDense(new float[,] { { 1, 0 } });

        // When
        var byRange = matrix.SliceRows(1, 0);
        var byList = matrix.SliceRows([]);

        // Then
        Assert.Equal((0, 2), (byRange.Rows, byRange.Columns));
        Assert.Equal((0, 2), (byList.Rows, byList.Columns));
    }

    [Fact]
    public void SliceRows_refuses_a_row_outside_the_matrix()
    {
        // Given
        var matrix = CsrMatrix.Empty(3, 2);

        // When
        var byList = Assert.Throws<ArgumentOutOfRangeException>(() => matrix.SliceRows([0, 3]));
        var byRange = Assert.Throws<ArgumentOutOfRangeException>(() => matrix.SliceRows(2, 2));

        // Then
        Assert.Contains("row id 3 at position 1 is outside [0, 3)", byList.Message, StringComparison.Ordinal);
        Assert.Contains("rows 2 .. 3 are outside [0, 3)", byRange.Message, StringComparison.Ordinal);
    }
}
