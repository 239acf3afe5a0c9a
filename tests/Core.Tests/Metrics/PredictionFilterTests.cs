using Skim.Core.Metrics;

namespace Skim.Core.Tests.Metrics;

public class PredictionFilterTests
{
    [Fact]
    public void Pairs_are_grouped_by_row_sorted_and_kept_once()
    {
        // Given pairs in no order, one of them twice
        int[] points = [2, 0, 2, 2, 0];
        int[] labels = [5, 1, 3, 5, 0];

        // When
        var filter = new PredictionFilter(3, 6, points, labels);

        // Then
        Assert.Equal(4, filter.Count);
        Assert.Equal(2, filter.MaxRowLength);
        Assert.Equal([0, 1], filter.RowLabels(0).ToArray());
        Assert.True(filter.RowLabels(1).IsEmpty);
        Assert.Equal([3, 5], filter.RowLabels(2).ToArray());
        Assert.True(filter.Contains(2, 3));
        Assert.False(filter.Contains(1, 3));
    }

    [Theory]
    [InlineData(3, 0)]
    [InlineData(0, 6)]
    [InlineData(-1, 0)]
    public void Pairs_outside_the_prediction_matrix_are_refused(int point, int label)
    {
        // Given a 3 x 6 prediction matrix
        // When
        var error = Assert.Throws<SkimDataException>(() => new PredictionFilter(3, 6, [point], [label]));

        // Then
        Assert.Contains($"({point}, {label})", error.Message, StringComparison.Ordinal);
    }
}
