using Skim.XcTrain.Losses;
using Skim.XcTrain.Tests.Classifiers;
using static Skim.XcTrain.Tests.Losses.LossTensors;
using static TorchSharp.torch;

namespace Skim.XcTrain.Tests.Losses;

[Collection(LibTorchCollection.Name)]
public sealed class TripletLossesTests
{
    private const double Tolerance = 1e-6;

    // Three documents, each positive only on the diagonal:
    //   row 0: s_p = 0.9, negatives 0.8 (h = 0.8 - 0.9 + 0.3 = 0.2) and 0.1 (h = 0)
    //   row 1: s_p = 0.6, negatives 0.7 (h = 0.4) and 0.2 (h = 0)
    //   row 2: s_p = 0.4, negatives 0.0 (h = 0) and 0.5 (h = 0.4)
    private static readonly float[] s_threeDocuments = [0.9f, 0.8f, 0.1f, 0.7f, 0.6f, 0.2f, 0.0f, 0.5f, 0.4f];

    [Fact]
    public void Ohnm_weights_each_violating_negative_by_a_softmax_where_non_violators_keep_logit_zero()
    {
        // Given the three-document batch and k = 2, every negative of every row
        using var scores = Matrix(3, 3, s_threeDocuments);
        using var targets = eye(3);

        // When
        var (loss, _) = WithGradient(scores, s => TripletLosses.OnlineHardNegativeMining(s, targets, negatives: 2));

        // Then each row's one violator gets weight e^(s/τ) / (e^(s/τ) + e^0) = σ(s/τ), τ = 0.1:
        //   row 0: 0.2 σ(8) = 0.199932930, row 1: 0.4 σ(7) = 0.399635580, row 2: 0.4 σ(5) = 0.397322860,
        //   mean over B·k = 6 triplets: 0.996891369 / 6 = 0.166148562
        Assert.Equal(0.166148562, loss, Tolerance);
    }

    [Fact]
    public void Ohnm_without_softmax_is_the_plain_mean_hinge_and_pushes_the_diagonal_positive_up()
    {
        // Given the three-document batch
        using var scores = Matrix(3, 3, s_threeDocuments);
        using var targets = eye(3);

        // When
        var (loss, gradient) = WithGradient(scores, s => TripletLosses.OnlineHardNegativeMining(s, targets, negatives: 2, applySoftmax: false));

        // Then loss = (0.2 + 0.4 + 0.4) / 6; each violator's hinge S_in - S_ii + 0.3 gives +1/6 to the
        // negative and -1/6 to the row's diagonal entry, and the non-violators get nothing
        Assert.Equal(1.0 / 6, loss, Tolerance);
        const double Sixth = 1.0 / 6;
        double[] expected = [-Sixth, Sixth, 0, Sixth, -Sixth, 0, 0, Sixth, -Sixth];
        AssertClose(expected, gradient, Tolerance);
    }

    [Fact]
    public void Ohnm_with_more_negatives_requested_than_a_row_has_uses_the_negatives_that_exist()
    {
        // Given the three-document batch, two negatives per row, and NGAME's default k = 10
        using var scores = Matrix(3, 3, s_threeDocuments);
        using var targets = eye(3);

        // When
        var (clamped, _) = WithGradient(scores, s => TripletLosses.OnlineHardNegativeMining(s, targets));
        var (exact, _) = WithGradient(scores, s => TripletLosses.OnlineHardNegativeMining(s, targets, negatives: 2));

        // Then the diagonal is never taken as a tenth-best "negative" (NGAME would add its margin 0.3)
        Assert.Equal(exact, clamped, Tolerance);
    }

    [Fact]
    public void Ohnm_is_zero_with_zero_gradient_when_every_negative_is_below_the_positive_minus_the_margin()
    {
        // Given rows whose negatives all sit at least 0.4 below the diagonal (margin 0.3)
        using var scores = Matrix(3, 3, 0.9f, 0.5f, 0.1f, 0.2f, 0.8f, 0.4f, 0.3f, 0.1f, 0.7f);
        using var targets = eye(3);

        // When
        var (loss, gradient) = WithGradient(scores, s => TripletLosses.OnlineHardNegativeMining(s, targets));

        // Then
        Assert.Equal(0, loss);
        Assert.All(gradient, g => Assert.Equal(0, g));
    }

    [Fact]
    public void Ohnm_never_uses_another_column_of_the_rows_own_positive_label_as_a_negative()
    {
        // Given document 0 whose positive label also fills column 1 (0.9, above its diagonal 0.5), and
        // rows 1 and 2 with no violation
        using var scores = Matrix(3, 3, 0.5f, 0.9f, 0.1f, 0.0f, 0.8f, 0.2f, 0.1f, 0.0f, 0.9f);
        using var targets = Matrix(3, 3, 1, 1, 0, 0, 1, 0, 0, 0, 1);
        using var diagonalOnly = eye(3);

        // When
        var (loss, _) = WithGradient(scores, s => TripletLosses.OnlineHardNegativeMining(s, targets));
        var (withoutTarget, _) = WithGradient(scores, s => TripletLosses.OnlineHardNegativeMining(s, diagonalOnly));

        // Then the duplicate is not a negative (0.1 - 0.5 + 0.3 < 0), though it would violate by 0.7
        Assert.Equal(0, loss);
        Assert.True(withoutTarget > 0.05, $"the same batch without the duplicate's target must lose, got {withoutTarget}");
    }

    [Fact]
    public void Ohnm_refuses_a_non_square_batch_and_a_missing_diagonal_positive()
    {
        // Given
        using var wide = zeros(2, 3);
        using var wideTargets = ones(2, 3);
        using var square = zeros(2, 2);
        using var noDiagonal = Matrix(2, 2, 1, 0, 0, 0);

        // When
        var notSquare = Assert.Throws<ArgumentException>(() => TripletLosses.OnlineHardNegativeMining(wide, wideTargets));
        var missing = Assert.Throws<ArgumentException>(() => TripletLosses.OnlineHardNegativeMining(square, noDiagonal));

        // Then
        Assert.Contains("square matrix, got (2, 3)", notSquare.Message, StringComparison.Ordinal);
        Assert.Contains("every diagonal entry must be 1", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ohnm_multi_pads_missing_positives_into_the_mean_and_clamps_negatives_to_those_that_exist()
    {
        // Given one document with positives 0.9 and 0.5 and negatives 0.6 and 0.1, NGAME's defaults
        // (margin 0.2, 3 positives, 5 negatives)
        using var scores = Matrix(1, 4, 0.9f, 0.5f, 0.6f, 0.1f);
        using var targets = Matrix(1, 4, 1, 1, 0, 0);

        // When
        var (loss, gradient) = WithGradient(scores, s => TripletLosses.OnlineHardNegativeMiningMulti(s, targets));

        // Then only (p = 0.5, n = 0.6) violates: h = 0.3, whose softmax weight against the −100 fill of
        // the zero hinge is 1 (to e^-100); the mean is over 3 positives (one padded) × 2 negatives = 6,
        // so loss = 0.3 / 6 = 0.05, d/dS_n = +1/6 and d/dS_p = -1/6
        Assert.Equal(0.05, loss, Tolerance);
        AssertClose([0, -1.0 / 6, 1.0 / 6, 0], gradient, Tolerance);
    }

    [Fact]
    public void Ohnm_multi_reads_positives_from_the_targets_even_when_the_label_set_is_as_large_as_the_batch()
    {
        // Given |U| = B = 2 where each document's positive is the other column: NGAME would read the
        // diagonal as positives (its QUIRK), which here are the negatives
        using var scores = Matrix(2, 2, 0.8f, 0.3f, 0.1f, 0.6f);
        using var targets = Matrix(2, 2, 0, 1, 1, 0);

        // When
        var (loss, _) = WithGradient(scores, s => TripletLosses.OnlineHardNegativeMiningMulti(s, targets));

        // Then row 0: 0.8 - 0.3 + 0.2 = 0.7, row 1: 0.6 - 0.1 + 0.2 = 0.7, over 3 positives × 2 negatives
        Assert.Equal(1.4 / 6, loss, Tolerance);
    }
}
