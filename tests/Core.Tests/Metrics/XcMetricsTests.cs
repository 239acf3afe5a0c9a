using Skim.Core.Metrics;

namespace Skim.Core.Tests.Metrics;

public class XcMetricsTests
{
    private static XcMetricsOptions GoldenOptions(int maxK = 5) => new()
    {
        MaxK = maxK,
        InversePropensity = InversePropensity.Compute(MetricsFixtures.GoldenTrain(), 0.55, 1.5),
    };

    [Fact]
    public void Golden_example_prints_the_reference_numbers()
    {
        // Given the worked example of docs/xc-formats-and-metrics.md §3.3 (4 test rows, one without labels)
        var truth = MetricsFixtures.GoldenTruth();
        var scores = MetricsFixtures.GoldenScores();

        // When
        var result = XcMetrics.Evaluate(scores, truth, GoldenOptions());

        // Then the values × 100 to 2 decimals are those pyxclib's Metrics(Y, w).eval(S, 5) prints
        Assert.Equal([75.00, 37.50, 41.67, 31.25, 25.00], MetricsFixtures.Percent(result.Precision));
        Assert.Equal([75.00, 55.66, 70.99, 70.99, 70.99], MetricsFixtures.Percent(result.Ndcg));
        Assert.Equal([93.43, 58.36, 100.00, 100.00, 100.00], MetricsFixtures.Percent(result.PsPrecision!));
        Assert.Equal([93.43, 72.01, 92.98, 92.98, 92.98], MetricsFixtures.Percent(result.PsNdcg!));
        Assert.Equal(4, result.Rows);
    }

    [Fact]
    public void Golden_example_gives_the_reference_recall()
    {
        // Given the worked example
        var truth = MetricsFixtures.GoldenTruth();
        var scores = MetricsFixtures.GoldenScores();

        // When
        var result = XcMetrics.Evaluate(scores, truth, GoldenOptions());

        // Then recall is 0.5, 0.5, 0.75, 0.75, 0.75 (the empty row counts, with denominator 1)
        double[] expected = [0.5, 0.5, 0.75, 0.75, 0.75];
        for (var k = 1; k <= 5; k++)
        {
            Assert.Equal(expected[k - 1], result.Get(XcMetric.Recall, k), 12);
        }
    }

    [Fact]
    public void Dropping_the_row_without_labels_gives_the_reference_remove_invalid_precision()
    {
        // Given the worked example without its empty row (pyxclib's remove_invalid=True)
        var truth = MetricsFixtures.Binary(6, [0, 2], [1, 5], [3]);
        var scores = MetricsFixtures.Matrix(
            6,
            [(0, .9f), (1, .8f), (2, .1f)],
            [(0, .2f), (1, .7f), (3, .6f), (5, .5f)],
            [(3, .3f)]);

        // When
        var result = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions { MaxK = 5 });

        // Then
        double[] expected = [1.0, .5, .5556, .4167, .3333];
        for (var k = 0; k < 5; k++)
        {
            Assert.Equal(expected[k], result.Precision[k], 4);
        }
        Assert.Null(result.PsPrecision);
        Assert.False(result.Has(XcMetric.PsNdcg));
    }

    [Fact]
    public void Filtered_pairs_are_removed_from_the_predictions_only()
    {
        // Given the worked example and a filter on (row 0, label 0), a correct prediction
        var truth = MetricsFixtures.GoldenTruth();
        var scores = MetricsFixtures.GoldenScores();
        var filter = new PredictionFilter(4, 6, [0], [0]);

        // When
        var result = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions { MaxK = 3, Filter = filter });

        // Then row 0 ranks (1, 2): P@1 = (0+1+1+0)/4, P@2 = (1+1+1+0)/8; label 0 still counts as relevant
        Assert.Equal(0.5, result.Precision[0], 12);
        Assert.Equal(3.0 / 8, result.Precision[1], 12);
        Assert.Equal((0.5 + 0.5 + 1 + 0) / 4, result.Recall[1], 12);
    }

    [Fact]
    public void Non_binary_ground_truth_weights_every_metric()
    {
        // Given a row with relevances 0.5 (label 0) and 2 (label 1), ranked (1, 0)
        var truth = MetricsFixtures.Matrix(2, [(0, .5f), (1, 2f)]);
        var scores = MetricsFixtures.Matrix(2, [(1, .9f), (0, .8f)]);

        // When
        var result = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions { MaxK = 2 });

        // Then values are not binarised; |y| = int(2.5) = 2 sets the IDCG; recall divides by the sum 2.5
        var c2 = 1 + (1 / Math.Log2(3));
        Assert.Equal(2.0, result.Precision[0], 12);
        Assert.Equal(1.25, result.Precision[1], 12);
        Assert.Equal(2.0, result.Ndcg[0], 12);
        Assert.Equal((2 + (0.5 / Math.Log2(3))) / c2, result.Ndcg[1], 12);
        Assert.Equal(0.8, result.Recall[0], 12);
        Assert.Equal(1.0, result.Recall[1], 12);
    }

    [Fact]
    public void A_row_summing_below_one_uses_pyxclib_wrapped_normaliser_and_its_sum_for_recall()
    {
        // Given one label of relevance 0.5, predicted first
        var truth = MetricsFixtures.Matrix(2, [(0, .5f)]);
        var scores = MetricsFixtures.Matrix(2, [(0, 1f)]);

        // When
        var result = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions { MaxK = 2 });

        // Then int(0.5) = 0 wraps to the last IDCG entry, so nDCG@k divides by c_k; recall divides by 0.5
        Assert.Equal(0.5, result.Ndcg[0], 12);
        Assert.Equal(0.5 / (1 + (1 / Math.Log2(3))), result.Ndcg[1], 12);
        Assert.Equal(1.0, result.Recall[0], 12);
    }

    [Fact]
    public void Tied_scores_go_to_the_lower_label_id()
    {
        // Given three labels tied at 0.5 and the middle id relevant
        var truth = MetricsFixtures.Binary(4, [1]);
        var scores = MetricsFixtures.Matrix(4, [(3, .5f), (1, .5f), (2, .5f)]);

        // When
        var result = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions { MaxK = 1 });

        // Then label 1 ranks first
        Assert.Equal(1.0, result.Precision[0]);
    }

    [Fact]
    public void Stored_zero_scores_count_unless_dropped()
    {
        // Given a relevant label predicted with an explicit zero score
        var truth = MetricsFixtures.Binary(3, [2]);
        var scores = MetricsFixtures.Matrix(3, [(2, 0f)]);

        // When
        var kept = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions { MaxK = 1 });
        var dropped = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions { MaxK = 1, DropZeroScores = true });

        // Then
        Assert.Equal(1.0, kept.Precision[0]);
        Assert.Equal(0.0, dropped.Precision[0]);
    }

    [Fact]
    public void Sparse_dense_and_precomputed_inputs_agree()
    {
        // Given a random score matrix with every entry stored, and its dense and top-k forms
        var random = new Random(7);
        var truth = MetricsFixtures.RandomTruth(random, 60, 12, 4, binary: false);
        var dense = new float[60, 12];
        for (var r = 0; r < 60; r++)
        {
            for (var l = 0; l < 12; l++)
            {
                dense[r, l] = random.Next(0, 6) / 5f;
            }
        }
        var sparse = MetricsFixtures.Matrix(12, [.. Enumerable.Range(0, 60).Select(r => Enumerable.Range(0, 12).Select(l => (l, dense[r, l])).ToArray())]);
        var filter = new PredictionFilter(60, 12, [0, 5, 5, 59], [3, 0, 11, 7]);
        var options = new XcMetricsOptions { MaxK = 8, Filter = filter, InversePropensity = InversePropensity.Compute(truth, 0.55, 1.5) };

        // When
        var fromSparse = XcMetrics.Evaluate(sparse, truth, options);
        var fromDense = XcMetrics.Evaluate(dense, truth, options);
        var fromTopK = XcMetrics.Evaluate(TopKPredictions.FromDense(dense, 8, filter), truth, options with { Filter = null });

        // Then
        Assert.Equal(fromSparse.Precision, fromDense.Precision);
        Assert.Equal(fromSparse.PsNdcg, fromDense.PsNdcg);
        Assert.Equal(fromSparse.Ndcg, fromTopK.Ndcg);
        Assert.Equal(fromSparse.PsPrecision, fromTopK.PsPrecision);
        Assert.Equal(fromSparse.Recall, fromTopK.Recall);
    }

    [Fact]
    public void Results_do_not_depend_on_the_number_of_threads()
    {
        // Given 5,000 random rows (many blocks) with ties, empty rows and propensities
        var random = new Random(11);
        var truth = MetricsFixtures.RandomTruth(random, 5000, 300, 6, binary: false);
        var scores = MetricsFixtures.RandomScores(random, 5000, 300, 30);
        var options = new XcMetricsOptions { MaxK = 20, InversePropensity = InversePropensity.Compute(truth, 0.55, 1.5) };

        // When
        var one = XcMetrics.Evaluate(scores, truth, options with { MaxDegreeOfParallelism = 1 });
        var three = XcMetrics.Evaluate(scores, truth, options with { MaxDegreeOfParallelism = 3 });
        var all = XcMetrics.Evaluate(scores, truth, options);

        // Then the values are bit-identical
        foreach (var other in new[] { three, all })
        {
            Assert.Equal(one.Precision, other.Precision);
            Assert.Equal(one.Ndcg, other.Ndcg);
            Assert.Equal(one.Recall, other.Recall);
            Assert.Equal(one.PsPrecision, other.PsPrecision);
            Assert.Equal(one.PsNdcg, other.PsNdcg);
        }
    }

    [Fact]
    public void Predictions_of_another_shape_are_a_data_error_with_both_shapes()
    {
        // Given a 4 x 6 ground truth and 4 x 5 predictions
        var truth = MetricsFixtures.GoldenTruth();
        var scores = MetricsFixtures.Matrix(5, [], [], [], []);

        // When
        var error = Assert.Throws<SkimDataException>(() => XcMetrics.Evaluate(scores, truth));

        // Then
        Assert.Contains("4 x 5", error.Message, StringComparison.Ordinal);
        Assert.Contains("4 x 6", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Propensities_of_the_wrong_length_are_refused()
    {
        // Given 5 weights for 6 labels
        var options = new XcMetricsOptions { InversePropensity = [1, 1, 1, 1, 1] };

        // When
        var error = Assert.Throws<SkimDataException>(() => XcMetrics.Evaluate(MetricsFixtures.GoldenScores(), MetricsFixtures.GoldenTruth(), options));

        // Then
        Assert.Contains("5 inverse propensities given for 6 labels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_NaN_score_is_a_data_error_naming_the_predictions_file_row_and_label()
    {
        // Given a NaN score at row 1, label 3, from a file the caller names
        var truth = MetricsFixtures.GoldenTruth();
        var scores = MetricsFixtures.Matrix(6, [(0, .9f)], [(1, .5f), (3, float.NaN)], [], []);
        var options = new XcMetricsOptions { PredictionsSource = "scores.npz" };

        // When
        var error = Assert.Throws<SkimDataException>(() => XcMetrics.Evaluate(scores, truth, options));

        // Then one line names the file, the place and the problem
        Assert.Equal("scores.npz: row 1, label 3: score is NaN, expected a number", error.Message);
        Assert.Equal("scores.npz", error.Path);
        Assert.Equal("row 1, label 3", error.Location);
    }

    [Fact]
    public void A_ground_truth_row_summing_below_zero_is_a_data_error_naming_the_row()
    {
        // Given a ground-truth row whose values sum to -5 (too negative for pyxclib's wrapped index)
        var truth = MetricsFixtures.Matrix(2, [(0, 1f)], [(1, -5f)]);
        var scores = MetricsFixtures.Matrix(2, [(0, 1f)], [(1, 1f)]);

        // When
        var error = Assert.Throws<SkimDataException>(() => XcMetrics.Evaluate(scores, truth, new XcMetricsOptions { MaxK = 1 }));

        // Then
        Assert.Equal("ground truth row 1", error.Location);
        Assert.Contains("sum to -5", error.Message, StringComparison.Ordinal);
    }
}
