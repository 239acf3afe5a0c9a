using Skim.Core.Metrics;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Metrics;

public class InversePropensityTests
{
    [Fact]
    public void Golden_train_frequencies_give_the_weights_of_the_reference_example()
    {
        // Given 5 train rows with label frequencies (4, 2, 1, 1, 1, 1)
        var train = MetricsFixtures.GoldenTrain();

        // When
        var w = InversePropensity.Compute(train, 0.55, 1.5);

        // Then w = (1.395, 1.5065, 1.6094, 1.6094, 1.6094, 1.6094), the values of docs/xc-formats-and-metrics.md §3.3
        Assert.Equal(6, w.Length);
        Assert.Equal(1.395, w[0], 3);
        Assert.Equal(1.5065, w[1], 4);
        for (var l = 2; l < 6; l++)
        {
            Assert.Equal(1.6094, w[l], 4);
        }
    }

    [Fact]
    public void Weights_follow_the_formula_with_column_sums_of_values()
    {
        // Given label 0 seen once with value 3 and label 1 never seen, in 4 rows
        var train = MetricsFixtures.Matrix(2, [(0, 3f)], [], [], []);

        // When
        var w = InversePropensity.Compute(train, 0.6, 2.6);

        // Then w_l = 1 + (ln N − 1)(B + 1)^A (n_l + B)^(−A) with n_0 = 3 (not binarised) and n_1 = 0
        var c = (Math.Log(4) - 1) * Math.Pow(3.6, 0.6);
        Assert.Equal(1 + (c * Math.Pow(5.6, -0.6)), w[0], 12);
        Assert.Equal(1 + (c * Math.Pow(2.6, -0.6)), w[1], 12);
    }

    [Theory]
    [InlineData("LF-AmazonTitles-131K", 0.6, 2.6)]
    [InlineData("Amazon-670K", 0.6, 2.6)]
    [InlineData("WikiLSHTC-325K", 0.5, 0.4)]
    [InlineData("LF-WikiTitles-500K", 0.5, 0.4)]
    [InlineData("LF-WikiSeeAlso-320K", 0.55, 1.5)]
    [InlineData("LF-WikiSeeAlsoTitles-320K", 0.55, 1.5)]
    [InlineData("EURLex-4K", 0.55, 1.5)]
    [InlineData("demo", 0.55, 1.5)]
    public void Dataset_family_picks_A_and_B_as_DEXML_does(string name, double a, double b)
    {
        // Given a dataset name
        // When
        var (actualA, actualB) = InversePropensity.DefaultsFor(name);

        // Then
        Assert.Equal(a, actualA);
        Assert.Equal(b, actualB);
    }

    [Theory]
    [InlineData(0.55, 0.0)]
    [InlineData(0.55, -1.0)]
    [InlineData(double.NaN, 1.5)]
    public void Values_that_give_unseen_labels_no_finite_weight_are_refused(double a, double b)
    {
        // Given a train matrix
        var train = MetricsFixtures.GoldenTrain();

        // When / Then
        Assert.Throws<ArgumentOutOfRangeException>(() => InversePropensity.Compute(train, a, b));
    }

    [Fact]
    public void A_train_matrix_without_rows_is_a_data_error()
    {
        // Given a train split with no points
        var train = CsrMatrix.Empty(0, 6);

        // When
        var error = Assert.Throws<SkimDataException>(() => InversePropensity.Compute(train, 0.55, 1.5));

        // Then
        Assert.Contains("at least one row, found 0 rows", error.Message, StringComparison.Ordinal);
    }
}
