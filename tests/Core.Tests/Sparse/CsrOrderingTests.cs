using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrOrderingTests
{
    [Fact]
    public void SortIndices_sorts_each_row_and_keeps_duplicates_in_stored_order()
    {
        // Given a row with column 2 stored twice (first 0.1, then 0.2)
        var matrix = CsrSamples.FromEntries(5, [(4, 1f), (2, 0.1f), (0, 3f), (2, 0.2f)], [], [(1, 7f)]);

        // When
        var sorted = matrix.SortIndices();

        // Then
        Assert.Equal([(0, 3f), (2, 0.1f), (2, 0.2f), (4, 1f)], CsrSamples.Row(sorted, 0));
        Assert.Equal([0, 4, 4, 5], sorted.IndPtr);
        Assert.Equal(4, matrix.Indices[0]);
    }

    [Fact]
    public void SortIndices_of_a_long_row_is_stable()
    {
        // Given a 300-entry row over 20 columns whose values record the stored position
        var random = new Random(9);
        var columns = Enumerable.Range(0, 300).Select(_ => random.Next(20)).ToArray();
        var matrix = CsrMatrix.FromRows(20, [columns], [Enumerable.Range(0, 300).Select(p => (float)p).ToArray()]);

        // When
        var sorted = matrix.SortIndices();

        // Then the order is by column, then by stored position
        var expected = columns.Select((c, p) => (Column: c, Value: (float)p)).OrderBy(e => e.Column).ThenBy(e => e.Value).ToArray();
        Assert.Equal(expected, CsrSamples.Row(sorted, 0));
    }

    [Fact]
    public void SortIndices_of_a_sorted_matrix_is_an_independent_copy()
    {
        // Given
        var matrix = CsrSamples.FromDense(new float[,] { { 1, 2 } });

        // When
        var sorted = matrix.SortIndices();
        sorted.Data[0] = 9;

        // Then
        Assert.Equal(1f, matrix.Data[0]);
    }

    [Fact]
    public void ReduceDuplicates_sorts_and_combines_by_sum_or_max()
    {
        // Given
        var matrix = CsrSamples.FromEntries(3, [(2, 0.5f), (0, 1f), (2, 0.75f)]);

        // When
        var summed = matrix.ReduceDuplicates(DuplicateReduction.Sum);
        var maxed = matrix.ReduceDuplicates(DuplicateReduction.Max);

        // Then
        Assert.Equal([(0, 1f), (2, 1.25f)], CsrSamples.Row(summed, 0));
        Assert.Equal([(0, 1f), (2, 0.75f)], CsrSamples.Row(maxed, 0));
        Assert.True(summed.HasSortedIndices);
    }
}
