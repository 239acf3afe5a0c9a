using Skim.Core;
using Skim.Core.Sparse;
using Skim.XcTrain.Sampling;

namespace Skim.XcTrain.Tests.Sampling;

public sealed class PositiveSamplerTests
{
    [Fact]
    public void Single_draws_follow_the_relevance_weights()
    {
        // Given a row with soft labels 0.5, 1, 1.5, 2 (labels 3, 7, 1, 9)
        var matrix = CsrMatrix.FromRows(10, [[3, 7, 1, 9]], [[0.5f, 1, 1.5f, 2]]);
        var random = new Random(1);
        const int draws = 40_000;

        // When drawing one positive 40,000 times
        var counts = new Dictionary<int, int>();
        for (var i = 0; i < draws; i++)
        {
            var label = Assert.Single(PositiveSampler.Draw(matrix, 0, 1, random));
            counts[label] = counts.GetValueOrDefault(label) + 1;
        }

        // Then the counts fit the weights: chi-square on 3 degrees of freedom below 16.27 (p = 0.001)
        var expected = new Dictionary<int, double> { [3] = 0.1, [7] = 0.2, [1] = 0.3, [9] = 0.4 };
        var chiSquare = expected.Sum(e => Math.Pow(counts.GetValueOrDefault(e.Key) - (draws * e.Value), 2) / (draws * e.Value));
        Assert.True(chiSquare < 16.27, $"chi-square {chiSquare:F2}");
    }

    [Fact]
    public void Draws_without_replacement_include_each_label_with_the_successive_sampling_probability()
    {
        // Given weights 1, 2, 3, 4
        var matrix = CsrMatrix.FromRows(4, [[0, 1, 2, 3]], [[1f, 2, 3, 4]]);
        var random = new Random(2);
        const int draws = 30_000;
        double[] w = [1, 2, 3, 4];

        // When drawing two distinct positives 30,000 times
        var included = new int[4];
        for (var i = 0; i < draws; i++)
        {
            var pair = PositiveSampler.Draw(matrix, 0, 2, random);
            Assert.NotEqual(pair[0], pair[1]);
            foreach (var label in pair)
            {
                included[label]++;
            }
        }

        // Then P(i drawn) = w_i/W + Σ_{j≠i} (w_j/W)(w_i/(W − w_j)), each count within 4.5 binomial sigmas
        for (var i = 0; i < 4; i++)
        {
            var p = w[i] / 10;
            for (var j = 0; j < 4; j++)
            {
                if (j != i)
                {
                    p += w[j] / 10 * (w[i] / (10 - w[j]));
                }
            }
            var sigma = Math.Sqrt(draws * p * (1 - p));
            Assert.InRange(included[i], (draws * p) - (4.5 * sigma), (draws * p) + (4.5 * sigma));
        }
    }

    [Fact]
    public void A_zero_weight_entry_is_never_drawn_and_asking_for_more_returns_every_positive()
    {
        // Given labels 4 (weight 0), 5 and 6
        var matrix = CsrMatrix.FromRows(8, [[4, 5, 6]], [[0f, 1, 3]]);

        // When asking for five
        var drawn = PositiveSampler.Draw(matrix, 0, 5, new Random(3));

        // Then both positives come back, once each
        Assert.Equal([5, 6], drawn.Order());
        Assert.Equal(2, PositiveSampler.PositiveCount(matrix, 0));
    }

    [Fact]
    public void The_same_seed_draws_the_same_positives()
    {
        // Given
        var matrix = CsrMatrix.FromRows(20, [[1, 2, 3, 4, 5], [6, 7, 8]]);

        // When
        var first = PositiveSampler.Draw(matrix, [0, 1, 0], 2, new Random(4));
        var second = PositiveSampler.Draw(matrix, [0, 1, 0], 2, new Random(4));

        // Then
        Assert.Equal(first, second);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_row_without_positives_is_a_data_error_naming_the_row(bool explicitZero)
    {
        // Given row 1 empty, or holding only an explicit zero
        var matrix = CsrMatrix.FromRows(5, [[0], explicitZero ? [2] : []], [[1f], explicitZero ? [0f] : []]);

        // When / Then
        var error = Assert.Throws<SkimDataException>(() => PositiveSampler.Draw(matrix, 1, 1, new Random(5)));
        Assert.Equal("row 1", error.Location);
        Assert.Contains("no positive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_negative_relevance_is_a_data_error_naming_row_and_label()
    {
        // Given label 3 of row 0 at -1
        var matrix = CsrMatrix.FromRows(5, [[1, 3]], [[1f, -1]]);

        // When / Then
        var error = Assert.Throws<SkimDataException>(() => PositiveSampler.Draw(matrix, 0, 1, new Random(6)));
        Assert.Equal("row 0, label 3", error.Location);
    }
}
