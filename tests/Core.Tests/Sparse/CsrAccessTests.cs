using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrAccessTests
{
    [Fact]
    public void Get_returns_the_stored_value_zero_when_absent_and_the_sum_of_duplicates()
    {
        // Given
        var matrix = CsrSamples.FromEntries(4, [(3, 1f), (1, 0.5f), (3, 2f)]);

        // When / Then
        Assert.Equal(0.5f, matrix.Get(0, 1));
        Assert.Equal(0f, matrix.Get(0, 0));
        Assert.Equal(3f, matrix.Get(0, 3));
    }

    [Fact]
    public void Get_refuses_a_cell_outside_the_matrix()
    {
        // Given
        var matrix = CsrMatrix.Empty(2, 2);

        // When / Then
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Get(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Get(-1, 0));
    }

    [Fact]
    public void ToDense_refuses_more_than_a_hundred_million_cells()
    {
        // Given a 20000 x 5001 matrix (100,020,000 cells) that holds nothing
        var matrix = CsrMatrix.Empty(20_000, 5001);

        // When
        var error = Assert.Throws<SkimException>(() => matrix.ToDense());

        // Then
        Assert.Contains($"{100_020_000L:N0} cells", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ContentEquals_compares_cells_not_storage()
    {
        // Given the same cells stored differently: unsorted, split into duplicates, with a stored zero
        var canonical = CsrSamples.FromDense(new float[,] { { 1, 0, 2 }, { 0, 0, 0 } });
        var messy = CsrSamples.FromEntries(3, [(2, 1.5f), (1, 0f), (0, 1f), (2, 0.5f)], []);

        // When / Then
        Assert.True(canonical.ContentEquals(messy));
        Assert.True(messy.ContentEquals(canonical));
    }

    [Fact]
    public void ContentEquals_honours_the_tolerance_and_the_shape()
    {
        // Given
        var a = CsrSamples.FromDense(new float[,] { { 1, 0 } });
        var close = CsrSamples.FromDense(new float[,] { { 1.0001f, 0 } });
        var extra = CsrSamples.FromDense(new float[,] { { 1, 0.01f } });

        // When / Then
        Assert.False(a.ContentEquals(close));
        Assert.True(a.ContentEquals(close, 1e-3));
        Assert.False(a.ContentEquals(extra, 1e-3));
        Assert.False(a.ContentEquals(CsrMatrix.Empty(1, 3)));
        Assert.False(a.ContentEquals(null));
    }

    [Fact]
    public void ContentEquals_treats_NaN_as_equal_to_NaN_only()
    {
        // Given
        var nan = CsrSamples.FromEntries(2, [(0, float.NaN)]);
        var one = CsrSamples.FromEntries(2, [(0, 1f)]);

        // When / Then
        Assert.True(nan.ContentEquals(nan.Clone()));
        Assert.False(nan.ContentEquals(one, 10));
    }
}
