using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrBuilderTests
{
    [Fact]
    public void Rows_added_one_by_one_keep_their_order_and_values()
    {
        // Given
        var builder = new CsrBuilder(5);

        // When
        builder.AddRow([4, 1], [0.5f, 0.25f]);
        builder.AddEmptyRow();
        builder.AddRow([0, 2, 3], 1f);
        var matrix = builder.Build();

        // Then
        Assert.Equal((3, 5), (matrix.Rows, matrix.Columns));
        Assert.Equal([0, 2, 2, 5], matrix.IndPtr);
        Assert.Equal([4, 1, 0, 2, 3], matrix.Indices);
        Assert.Equal([0.5f, 0.25f, 1f, 1f, 1f], matrix.Data);
    }

    [Fact]
    public void The_builder_grows_past_its_initial_capacity()
    {
        // Given a builder that reserved nothing
        var builder = new CsrBuilder(100);

        // When 1000 rows of 1, 2, 3, 1, ... entries are added (1999 in all)
        for (var r = 0; r < 1000; r++)
        {
            builder.AddRow(Enumerable.Range(r % 97, 1 + (r % 3)).ToArray(), r);
        }
        var matrix = builder.Build();

        // Then
        Assert.Equal(1000, matrix.Rows);
        Assert.Equal(1999, matrix.NonZeros);
        Assert.Equal(999f, matrix.Get(999, 999 % 97));
    }

    [Fact]
    public void A_column_id_outside_the_matrix_is_refused_naming_the_row()
    {
        // Given
        var builder = new CsrBuilder(3);
        builder.AddEmptyRow();

        // When
        var error = Assert.Throws<SkimDataException>(() => builder.AddRow([1, 3], 1f));

        // Then
        Assert.Contains("row 1: column id 3 at position 1 is outside [0, 3)", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, builder.Rows);
    }

    [Fact]
    public void FromRows_stores_ones_for_label_lists()
    {
        // Given target_ind style lists
        int[][] labels = [[2, 0], [], [1]];

        // When
        var matrix = CsrMatrix.FromRows(3, labels);

        // Then
        Assert.Equal(new float[,] { { 1, 0, 1 }, { 0, 0, 0 }, { 0, 1, 0 } }, matrix.ToDense());
    }

    [Fact]
    public void FromRows_with_values_pairs_them_with_the_columns()
    {
        // Given / When
        var matrix = CsrMatrix.FromRows(3, [[1], [0, 2]], [[0.5f], [2f, 3f]]);

        // Then
        Assert.Equal(new float[,] { { 0, 0.5f, 0 }, { 2, 0, 3 } }, matrix.ToDense());
    }
}
