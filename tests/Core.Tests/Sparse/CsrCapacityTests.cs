using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrCapacityTests
{
    [Fact]
    public void A_non_zero_count_beyond_the_array_limit_is_refused_with_advice()
    {
        // Given a count one past what one .NET array holds
        var count = (long)Array.MaxLength + 1;

        // When
        var error = Assert.Throws<SkimException>(() => CsrMatrix.EnsureNonZerosFit(count, "trn_X_Y.npz"));

        // Then
        Assert.StartsWith($"trn_X_Y.npz: {count:N0} non-zeros exceed the {Array.MaxLength:N0}", error.Message, StringComparison.Ordinal);
        Assert.Contains("split the matrix by rows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Row_counts_that_sum_past_the_array_limit_are_refused_before_allocating()
    {
        // Given per-row counts (as an operation computes them) totalling 3 billion entries
        int[] indPtr = [0, 1_000_000_000, 1_000_000_000, 1_000_000_000];

        // When
        var error = Assert.Throws<SkimException>(() => CsrMatrix.PrefixSumCounts(indPtr, "CsrMatrix.Add"));

        // Then the message states the whole size asked for
        Assert.StartsWith($"CsrMatrix.Add: {3_000_000_000L:N0} non-zeros exceed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Row_counts_within_the_limit_become_row_offsets()
    {
        // Given
        int[] indPtr = [0, 2, 0, 3];

        // When
        CsrMatrix.PrefixSumCounts(indPtr, "test");

        // Then
        Assert.Equal([0, 2, 2, 5], indPtr);
    }

    [Fact]
    public void A_row_slice_that_repeats_rows_past_the_limit_is_refused()
    {
        // Given a row of 1000 entries picked 3 million times (3 billion entries)
        var matrix = CsrMatrix.FromRows(1000, [Enumerable.Range(0, 1000).ToArray()]);
        var picks = new int[3_000_000];

        // When
        var error = Assert.Throws<SkimException>(() => matrix.SliceRows(picks));

        // Then
        Assert.StartsWith($"CsrMatrix.SliceRows: {3_000_000_000L:N0} non-zeros exceed", error.Message, StringComparison.Ordinal);
    }
}
