using Skim.XcTrain.Losses;
using Skim.XcTrain.Tests.Classifiers;
using static Skim.XcTrain.Tests.Losses.LossTensors;
using static TorchSharp.torch;

namespace Skim.XcTrain.Tests.Losses;

[Collection(LibTorchCollection.Name)]
public sealed class DualEncoderLossesTests
{
    private const double Tolerance = 1e-5;

    [Fact]
    public void Softmax_is_the_row_mean_of_minus_each_sampled_log_probability_over_every_column()
    {
        // Given row 0 = (1, 0, 0) with positives 0 (relevance 2, sampled) and 2 (0.5, not sampled), and
        // row 1 = (0, 2, 0) with positive 1 (relevance 1, sampled)
        using var scores = Matrix(2, 3, 1, 0, 0, 0, 2, 0);
        using var relevance = Matrix(2, 3, 2, 0, 0.5f, 0, 1, 0);
        using var sampled = Matrix(2, 3, 1, 0, 0, 0, 1, 0);

        // When
        var (plain, _) = WithGradient(scores, s => DualEncoderLosses.Softmax(s, sampled));
        var (weighted, _) = WithGradient(scores, s => DualEncoderLosses.Softmax(s, sampled, relevance, weighted: true));

        // Then the unsampled positive stays in row 0's denominator (its e^0 is one of the two ones)
        var row0 = 1 - Math.Log(Math.E + 2);
        var row1 = 2 - Math.Log(Math.Exp(2) + 2);
        Assert.Equal(-(row0 + row1) / 2, plain, Tolerance);
        Assert.Equal(-((2 * row0) + row1) / 2, weighted, Tolerance);
    }

    [Fact]
    public void Decoupled_softmax_differs_from_softmax_where_a_row_has_several_positives_and_equals_it_where_each_row_has_one_positive_and_no_other_positive_column()
    {
        // Given the row (2, 1, 0, -1) with column 0 sampled, once with column 1 a second positive and
        // once with column 0 the only positive
        using var scores = Matrix(1, 4, 2, 1, 0, -1);
        using var sampled = Matrix(1, 4, 1, 0, 0, 0);
        using var twoPositives = Matrix(1, 4, 1, 1, 0, 0);
        using var onePositive = Matrix(1, 4, 1, 0, 0, 0);

        // When
        var (softmax, _) = WithGradient(scores, s => DualEncoderLosses.Softmax(s, sampled));
        var (decoupledTwo, _) = WithGradient(scores, s => DualEncoderLosses.DecoupledSoftmax(s, twoPositives, sampled));
        var (decoupledOne, _) = WithGradient(scores, s => DualEncoderLosses.DecoupledSoftmax(s, onePositive, sampled));

        // Then with two positives the other positive leaves the denominator:
        //   softmax   = -(2 - ln(e^2 + e^1 + e^0 + e^-1)) = 0.44019
        //   decoupled = -(2 - ln(e^2 + e^0 + e^-1))       = 0.16991
        // and with one positive there is nothing to decouple (the masked e^-100 is below float32 resolution)
        var everyColumn = Math.Exp(2) + Math.Exp(1) + 1 + Math.Exp(-1);
        Assert.Equal(-(2 - Math.Log(everyColumn)), softmax, Tolerance);
        Assert.Equal(-(2 - Math.Log(everyColumn - Math.E)), decoupledTwo, Tolerance);
        Assert.True(softmax - decoupledTwo > 0.25, $"decoupling must remove the second positive: softmax {softmax}, decoupled {decoupledTwo}");
        Assert.Equal(softmax, decoupledOne, Tolerance);
    }

    [Fact]
    public void Decoupled_softmax_scores_each_sampled_positive_against_the_negatives_only_and_averages_over_the_sample()
    {
        // Given the row (2, 1, 0, -1) with positives 0 (relevance 2) and 1 (relevance 0.5), both sampled
        using var scores = Matrix(1, 4, 2, 1, 0, -1);
        using var relevance = Matrix(1, 4, 2, 0.5f, 0, 0);
        using var sampled = Matrix(1, 4, 1, 1, 0, 0);

        // When
        var (plain, _) = WithGradient(scores, s => DualEncoderLosses.DecoupledSoftmax(s, relevance, sampled));
        var (weighted, _) = WithGradient(scores, s => DualEncoderLosses.DecoupledSoftmax(s, relevance, sampled, weighted: true));

        // Then each positive's denominator is itself plus the negatives e^0 + e^-1, and |S| = 2 divides
        var negatives = 1 + Math.Exp(-1);
        var first = 2 - Math.Log(Math.Exp(2) + negatives);
        var second = 1 - Math.Log(Math.Exp(1) + negatives);
        Assert.Equal(-(first + second) / 2, plain, Tolerance);
        Assert.Equal(-((2 * first) + (0.5 * second)) / 2, weighted, Tolerance);
    }

    [Fact]
    public void Unsampled_positives_get_no_gradient_from_decoupled_softmax_and_soft_top_k_but_do_from_softmax()
    {
        // Given eight columns where column 1 is a positive that was not sampled
        using var scores = Matrix(1, 8, 2, 1, 0, -1, 0.5f, -0.5f, 1.5f, 0.25f);
        using var relevance = Matrix(1, 8, 1, 1, 0, 0, 0, 0, 0, 0);
        using var sampled = Matrix(1, 8, 1, 0, 0, 0, 0, 0, 0, 0);

        // When
        var (_, softmax) = WithGradient(scores, s => DualEncoderLosses.Softmax(s, sampled, relevance));
        var (_, decoupled) = WithGradient(scores, s => DualEncoderLosses.DecoupledSoftmax(s, relevance, sampled));
        var (_, topK) = WithGradient(scores, s => DualEncoderLosses.SoftTopK(s, relevance, sampled, k: 3));

        // Then softmax pushes it down by its probability; the other two removed it from the pool
        var denominator = new[] { 2, 1, 0, -1, 0.5, -0.5, 1.5, 0.25 }.Sum(Math.Exp);
        Assert.Equal(Math.E / denominator, softmax[1], Tolerance);
        Assert.Equal(0, decoupled[1]);
        Assert.Equal(0, topK[1]);
        Assert.True(decoupled[2] > 0 && topK[2] > 0, "the negatives must still be pushed down");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_solved_soft_top_k_threshold_makes_the_sigmoids_sum_to_k(int seed)
    {
        // Given random scores in [-6, 6) and K = 5 for every row, or K_i = 1..4 per row
        var random = new Random(seed);
        const int Rows = 4;
        const int Columns = 50;
        var values = Enumerable.Range(0, Rows * Columns).Select(_ => (float)((random.NextDouble() * 12) - 6)).ToArray();
        using var scores = Matrix(Rows, Columns, values);
        using var k = seed == 1 ? full(Rows, 1, 5f) : tensor(new float[] { 1, 2, 3, 4 }, [Rows, 1]);

        // When
        using var threshold = DualEncoderLosses.SoftTopKThreshold(scores, k, alpha: 2, iterations: 32);
        using var sums = (2 * (scores + threshold)).sigmoid().sum(1, keepdim: true);

        // Then
        AssertClose(ToDoubles(k), ToDoubles(sums), 1e-4);
    }

    [Fact]
    public void Soft_top_k_gradient_equals_central_finite_differences_of_the_loss()
    {
        // Given float64 scores, rows with one to three positives of which some are sampled, relevance
        // weights, and a bisection run to double precision
        var random = new Random(7);
        const int Rows = 3;
        const int Columns = 12;
        var values = Enumerable.Range(0, Rows * Columns).Select(_ => (random.NextDouble() * 6) - 3).ToArray();
        var relevance = new double[Rows * Columns];
        var sampled = new double[Rows * Columns];
        for (var i = 0; i < Rows; i++)
        {
            var positives = 1 + i;
            for (var p = 0; p < positives; p++)
            {
                relevance[(i * Columns) + (3 * p) + 1] = 0.5 + p;
                sampled[(i * Columns) + (3 * p) + 1] = p < 2 ? 1 : 0;
            }
        }
        using var scores = tensor(values, [Rows, Columns]);
        using var relevanceTensor = tensor(relevance, [Rows, Columns]);
        using var sampledTensor = tensor(sampled, [Rows, Columns]);

        // When
        var (_, gradient) = WithGradient(scores, Loss);
        const double Step = 1e-6;
        var differences = Enumerable.Range(0, values.Length)
            .Select(j => (LossShifted(j, Step) - LossShifted(j, -Step)) / (2 * Step))
            .ToArray();

        // Then the implicit-function surrogate is the exact derivative through the threshold
        AssertClose(differences, gradient, 1e-7);

        Tensor Loss(Tensor s) => DualEncoderLosses.SoftTopK(s, relevanceTensor, sampledTensor, k: 3, iterations: 64, weighted: true);

        double LossShifted(int j, double step)
        {
            var shifted = (double[])values.Clone();
            shifted[j] += step;
            using var moved = tensor(shifted, [Rows, Columns]);
            using var loss = Loss(moved);
            return loss.item<double>();
        }
    }

    [Fact]
    public void Inputs_that_would_train_the_wrong_objective_are_refused()
    {
        // Given
        using var scores = zeros(2, 4);
        using var relevance = Matrix(2, 4, 1, 0, 0, 0, 0, 1, 0, 0);
        using var missingRow = Matrix(2, 4, 1, 0, 0, 0, 0, 0, 0, 0);
        using var notPositive = Matrix(2, 4, 1, 0, 1, 0, 0, 1, 0, 0);
        using var sampled = Matrix(2, 4, 1, 0, 0, 0, 0, 1, 0, 0);
        using var narrow = zeros(2, 3);

        // When
        var empty = Assert.Throws<ArgumentException>(() => DualEncoderLosses.DecoupledSoftmax(scores, relevance, missingRow));
        var stray = Assert.Throws<ArgumentException>(() => DualEncoderLosses.SoftTopK(scores, relevance, notPositive, k: 2));
        var shape = Assert.Throws<ArgumentException>(() => DualEncoderLosses.DecoupledSoftmax(scores, narrow, sampled));
        var unweighted = Assert.Throws<ArgumentException>(() => DualEncoderLosses.Softmax(scores, sampled, weighted: true));
        var tooMany = Assert.Throws<ArgumentOutOfRangeException>(() => DualEncoderLosses.SoftTopK(scores, relevance, sampled, k: 4));

        // Then
        Assert.StartsWith("sampled: row 1 has no sampled positive", empty.Message, StringComparison.Ordinal);
        Assert.StartsWith("sampled: column 2 of row 0 is sampled but", stray.Message, StringComparison.Ordinal);
        Assert.StartsWith("relevance: expected the shape of scores (2, 4), got (2, 3)", shape.Message, StringComparison.Ordinal);
        Assert.StartsWith("relevance:", unweighted.Message, StringComparison.Ordinal);
        Assert.Contains("0 < k < C = 4", tooMany.Message, StringComparison.Ordinal);
    }

    private static double[] ToDoubles(Tensor values) => values.to_type(ScalarType.Float64).data<double>().ToArray();
}
