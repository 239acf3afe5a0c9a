using Skim.Core.Metrics;

namespace Skim.Core.Tests.Metrics;

public class TopKPredictionsTests
{
    [Fact]
    public void Sparse_rows_rank_by_score_then_label_and_pad_short_rows()
    {
        // Given a row with a tie at 0.2 stored in no particular order, and an empty row
        var scores = MetricsFixtures.Matrix(6, [(4, .2f), (1, .9f), (3, .2f)], []);

        // When
        var top = TopKPredictions.FromSparse(scores, 4);

        // Then
        Assert.Equal([1, 3, 4, TopKPredictions.Padding], top.RowLabels(0).ToArray());
        Assert.Equal([.9f, .2f, .2f, 0f], top.RowScores(0).ToArray());
        Assert.Equal(Enumerable.Repeat(TopKPredictions.Padding, 4), top.RowLabels(1).ToArray());
    }

    [Fact]
    public void Long_sparse_rows_keep_only_the_k_best()
    {
        // Given a row of 50 entries with distinct scores, the best at the highest label ids
        var row = Enumerable.Range(0, 50).Select(l => (l, (float)l)).ToArray();
        var scores = MetricsFixtures.Matrix(50, row);

        // When
        var top = TopKPredictions.FromSparse(scores, 3);

        // Then
        Assert.Equal([49, 48, 47], top.RowLabels(0).ToArray());
    }

    [Fact]
    public void Negative_scores_rank_below_zero_and_signed_zeros_tie()
    {
        // Given scores −1, −0, +0 and −0.5
        var scores = MetricsFixtures.Matrix(4, [(0, -1f), (1, -0f), (2, 0f), (3, -.5f)]);

        // When
        var top = TopKPredictions.FromSparse(scores, 4);

        // Then −0 and +0 are one score, so label 1 comes before label 2
        Assert.Equal([1, 2, 3, 0], top.RowLabels(0).ToArray());
    }

    [Fact]
    public void Stored_zero_scores_are_predictions_unless_dropped()
    {
        // Given a row whose only stored score is an explicit zero
        var scores = MetricsFixtures.Matrix(3, [(2, 0f)]);

        // When
        var kept = TopKPredictions.FromSparse(scores, 2);
        var dropped = TopKPredictions.FromSparse(scores, 2, dropZeroScores: true);

        // Then
        Assert.Equal([2, TopKPredictions.Padding], kept.RowLabels(0).ToArray());
        Assert.Equal([TopKPredictions.Padding, TopKPredictions.Padding], dropped.RowLabels(0).ToArray());
    }

    [Fact]
    public void Filtered_sparse_entries_leave_a_shorter_row()
    {
        // Given a top-2 row and a filter on its best label
        var scores = MetricsFixtures.Matrix(5, [(0, .9f), (3, .5f)]);
        var filter = new PredictionFilter(1, 5, [0], [0]);

        // When
        var top = TopKPredictions.FromSparse(scores, 2, filter);

        // Then the row is padded, not refilled
        Assert.Equal([3, TopKPredictions.Padding], top.RowLabels(0).ToArray());
    }

    [Fact]
    public void Filtered_dense_labels_are_replaced_by_the_next_best()
    {
        // Given a dense 2 x 4 matrix and a filter on row 0's best label
        float[,] scores = { { .9f, .1f, .5f, .5f }, { .0f, .3f, .2f, .1f } };
        var filter = new PredictionFilter(2, 4, [0], [0]);

        // When
        var top = TopKPredictions.FromDense(scores, 2, filter);

        // Then the tie at 0.5 goes to the lower label id, and row 1 is unaffected
        Assert.Equal([2, 3], top.RowLabels(0).ToArray());
        Assert.Equal([1, 2], top.RowLabels(1).ToArray());
    }

    [Fact]
    public void Dense_matrices_with_fewer_columns_than_k_are_padded()
    {
        // Given a row-major 2 x 2 block
        float[] scores = [.1f, .2f, .4f, .3f];

        // When
        var top = TopKPredictions.FromDense(scores, 2, 2, 3);

        // Then
        Assert.Equal([1, 0, TopKPredictions.Padding], top.RowLabels(0).ToArray());
        Assert.Equal([0, 1, TopKPredictions.Padding], top.RowLabels(1).ToArray());
    }

    [Fact]
    public void NaN_scores_are_refused_with_their_row_and_label()
    {
        // Given a NaN score at row 1, label 2
        var scores = MetricsFixtures.Matrix(3, [(0, 1f)], [(2, float.NaN)]);

        // When
        var error = Assert.Throws<SkimDataException>(() => TopKPredictions.FromSparse(scores, 2));

        // Then
        Assert.Contains("row 1, label 2", error.Message, StringComparison.Ordinal);
        Assert.Equal("row 1, label 2: score is NaN, expected a number", error.Message);
    }

    [Fact]
    public void Lists_with_labels_outside_the_matrix_are_refused()
    {
        // Given a label id equal to the number of columns
        // When
        var error = Assert.Throws<SkimDataException>(() => new TopKPredictions(1, 3, 2, [0, 3], [1f, 0f]));

        // Then
        Assert.Equal("row 0, rank 1: label 3 is outside [0, 3)", error.Message);
    }
}
