using Skim.Core;
using Skim.Core.Metrics;
using Skim.Core.Sparse;
using Skim.Models.Search;
using Skim.XcTrain.Classifiers;

namespace Skim.XcTrain.Tests.Classifiers;

[Collection(LibTorchCollection.Name)]
public sealed class EmbeddingKnnClassifierTests
{
    private static readonly EmbeddingKnnOptions s_cpu = new() { Device = "cpu" };

    [Fact]
    public void Label_text_scores_are_inner_products_kept_best_first()
    {
        // Given labels (1,0) (0,1) (-1,0) (0,1) and test points (2,1) and (0,-1)
        var labels = EmbeddingRows.FromArray([1, 0, 0, 1, -1, 0, 0, 1], 4, 2);
        var test = EmbeddingRows.FromArray([2, 1, 0, -1], 2, 2);

        // When
        var scores = EmbeddingKnnClassifier.Predict(test, labels, s_cpu with { TopK = 3 });

        // Then row 0 scores 2,1,-2,1 (tie 1 vs 3 → 1 first); row 1 scores 0,-1,0,-1
        Assert.Equal((2, 4), (scores.Rows, scores.Columns));
        Assert.Equal([0, 3, 6], scores.IndPtr);
        Assert.Equal([0, 1, 3, 0, 2, 1], scores.Indices);
        Assert.Equal([2f, 1, 1, 0, 0, -1], scores.Data);
    }

    [Fact]
    public void Top_k_above_the_label_count_keeps_every_label()
    {
        // Given
        var labels = EmbeddingRows.FromArray([1, 0, 0, 1], 2, 2);
        var test = EmbeddingRows.FromArray([1, 2], 1, 2);

        // When
        var scores = EmbeddingKnnClassifier.Predict(test, labels, s_cpu);

        // Then
        Assert.Equal([1, 0], scores.Indices);
        Assert.Equal([2f, 1], scores.Data);
    }

    [Fact]
    public void Train_point_means_average_each_labels_points_and_leave_unseen_labels_at_zero()
    {
        // Given points (1,0) (0,1) (1,1); p0 → L0, p1 → L1, p2 → L0 and L1; L2 has no point
        var points = EmbeddingRows.FromArray([1, 0, 0, 1, 1, 1], 3, 2);
        var matrix = CsrMatrix.FromRows(3, [[0], [1], [0, 1]]);

        // When
        var raw = EmbeddingKnnClassifier.TrainPointMeans(points, matrix, normalize: false);
        var unit = EmbeddingKnnClassifier.TrainPointMeans(points, matrix, normalize: true);

        // Then
        Assert.Equal([1f, 0.5f, 0.5f, 1, 0, 0], raw);
        var n = (float)(1 / Math.Sqrt(1.25));
        Assert.Equal([n, n * 0.5f, n * 0.5f, n, 0, 0], unit, new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Mismatched_or_missing_inputs_are_refused_on_one_line()
    {
        // Given
        var points = EmbeddingRows.FromArray([1, 0], 1, 2, "trn_embeddings.npy");
        var matrix = CsrMatrix.Empty(2, 3);

        // When
        var mismatch = Assert.Throws<SkimDataException>(() =>
            EmbeddingKnnClassifier.LabelRepresentations(s_cpu with { Representation = LabelRepresentation.TrainPointMean }, trainPoints: points, trainMatrix: matrix));
        var missing = Assert.Throws<SkimConfigException>(() => EmbeddingKnnClassifier.LabelRepresentations(s_cpu));

        // Then
        Assert.Equal("trn_embeddings.npy: expected one embedding per row of the training matrix (2), found 1", mismatch.Message);
        Assert.StartsWith("representation label-text:", missing.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LabelRepresentation.LabelText)]
    [InlineData(LabelRepresentation.TrainPointMean)]
    public void On_separable_toy_data_precision_at_1_is_1(LabelRepresentation representation)
    {
        // Given 6 labels with orthogonal directions; points are a label's direction plus small noise
        const int Labels = 6;
        const int Dimension = 8;
        var random = new Random(42);
        float[] Noisy(int label)
        {
            var v = Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() - 0.5) * 0.2)).ToArray();
            v[label] += 1;
            return v;
        }
        var trainLabels = Enumerable.Range(0, 60).Select(i => i % Labels).ToArray();
        var testLabels = Enumerable.Range(0, 30).Select(i => (i * 7) % Labels).ToArray();
        var train = EmbeddingRows.FromArray(trainLabels.SelectMany(Noisy).ToArray(), 60, Dimension, "train");
        var test = EmbeddingRows.FromArray(testLabels.SelectMany(Noisy).ToArray(), 30, Dimension, "test");
        var labelText = EmbeddingRows.FromArray(Enumerable.Range(0, Labels).SelectMany(Noisy).ToArray(), Labels, Dimension, "labels");
        var trainMatrix = CsrMatrix.FromRows(Labels, trainLabels.Select(l => new[] { l }).ToArray());
        var truth = CsrMatrix.FromRows(Labels, testLabels.Select(l => new[] { l }).ToArray());
        var options = s_cpu with { Representation = representation, TopK = 5, QueryBlockSize = 7 };

        // When
        var labels = EmbeddingKnnClassifier.LabelRepresentations(options, labelText, train, trainMatrix);
        var scores = EmbeddingKnnClassifier.Predict(test, labels, options);
        var metrics = XcMetrics.Evaluate(scores, truth);

        // Then
        Assert.Equal(1.0, metrics.Get(XcMetric.Precision, 1));
        Assert.All(Enumerable.Range(0, 30), r => Assert.Equal(5, scores.RowLength(r)));
        Assert.All(Enumerable.Range(0, 30), r => Assert.True(IsDescending(scores.RowValues(r))));
    }

    private static bool IsDescending(ReadOnlySpan<float> values)
    {
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[i - 1])
            {
                return false;
            }
        }
        return true;
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
