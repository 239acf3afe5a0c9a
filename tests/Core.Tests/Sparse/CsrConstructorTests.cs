using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrConstructorTests
{
    [Fact]
    public void A_decreasing_indptr_is_a_data_error_at_indptr()
    {
        // Given / When
        var error = Assert.Throws<SkimDataException>(() => new CsrMatrix(3, 4, [0, 2, 1, 3], [1, 3, 0], [1f, 1f, 1f]));

        // Then
        Assert.Equal("indptr: decreases at row 1: 2 then 1", error.Message);
        Assert.Null(error.Path);
    }

    [Fact]
    public void A_column_index_beyond_the_shape_is_a_data_error_at_indices()
    {
        // Given / When
        var error = Assert.Throws<SkimDataException>(() => new CsrMatrix(1, 4, [0, 2], [1, 9], [1f, 1f]));

        // Then
        Assert.Equal("indices: column index 9 at position 1 is outside [0, 4)", error.Message);
    }
}
