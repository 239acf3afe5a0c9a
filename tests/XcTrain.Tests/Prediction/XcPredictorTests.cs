using Skim.Core.Sparse;
using Skim.Models.Search;
using Skim.XcTrain.Prediction;
using Skim.XcTrain.Tests.Classifiers;

namespace Skim.XcTrain.Tests.Prediction;

[Collection(LibTorchCollection.Name)]
public sealed class XcPredictorTests
{
    [Fact]
    public void Instance_knn_sums_similarity_times_relevance_over_the_nearest_training_points()
    {
        // Given training points (1,0), (0,1), (0.6,0.8) with labels {0}, {1: 0.5}, {0, 2} and one query (1, 0)
        var train = EmbeddingRows.FromArray([1, 0, 0, 1, 0.6f, 0.8f], 3, 2, "train");
        var query = EmbeddingRows.FromArray([1, 0], 1, 2, "query");
        var matrix = CsrMatrix.FromRows(3, [[0], [1], [0, 2]], [[1f], [0.5f], [1f, 1f]]);

        // When its two nearest training points vote
        var scores = XcPredictor.InstanceScores(query, train, matrix, neighbours: 2, topK: 3, device: "cpu");

        // Then label 0 gets 1·1 + 0.6·1, label 2 gets 0.6, and label 1 (a third neighbour's) nothing
        Assert.Equal([0, 2], scores.RowIndices(0).ToArray());
        Assert.Equal(1.6f, scores.RowValues(0)[0], 5);
        Assert.Equal(0.6f, scores.RowValues(0)[1], 5);
    }

    [Fact]
    public void Fusion_with_weight_one_reproduces_the_first_scores_and_mixes_otherwise()
    {
        // Given two score rows over 4 labels
        var a = CsrMatrix.FromRows(4, [[2, 0]], [[0.9f, 0.6f]]);
        var b = CsrMatrix.FromRows(4, [[1, 0]], [[0.8f, 0.4f]]);

        // When
        var first = XcPredictor.Fuse(a, b, 1.0, 10);
        var half = XcPredictor.Fuse(a, b, 0.5, 10);

        // Then weight 1 is a exactly (b adds no entries); 0.5 averages over the union
        Assert.Equal(a.RowIndices(0).ToArray(), first.RowIndices(0).ToArray());
        Assert.Equal(a.RowValues(0).ToArray(), first.RowValues(0).ToArray());
        Assert.Equal([0, 2, 1], half.RowIndices(0).ToArray());
        Assert.Equal(0.5f, half.RowValues(0)[0], 6);
        Assert.Equal(0.45f, half.RowValues(0)[1], 6);
    }
}
