using System.Text.Json;
using Skim.Core.Formats.Npy;
using Skim.Core.Sparse;
using Skim.XcTrain.Fusion;

namespace Skim.XcTrain.Tests.Miv;

public sealed class ScoreFusionTests
{
    [SkippableTheory]
    [InlineData(1, 3)]
    [InlineData(2, 7)]
    public void The_gini_tree_predicts_what_sklearn_decision_tree_classifier_predicts(int seed, int depth)
    {
        PythonReference.Require("numpy", "sklearn");

        // Given 600 noisy samples of NGAME's three features (classifier score, label score or 0, a
        // propensity on a few levels) whose relevance rises with the scores, and 300 queries
        using var temp = new TempDirectory();
        var random = new Random(seed);
        var (samples, targets) = FusionSamples(random, 600);
        var (queries, _) = FusionSamples(random, 300);
        NpyFile.Write(temp.File("samples.npy"), NpyArray.Create(samples, 600, 3));
        NpyFile.Write(temp.File("targets.npy"), NpyArray.Create(targets.Select(t => t ? 1f : 0f).ToArray()));
        NpyFile.Write(temp.File("queries.npy"), NpyArray.Create(queries, 300, 3));

        // When both grow a tree of the depth (sklearn once per random_state 0..9: it breaks exact ties
        // between features by a random feature order, we by feature index)
        using var info = JsonDocument.Parse(PythonReference.Run(PythonReference.Script("miv_fusion_tree.py"), temp.Path, $"{depth}"));
        var tree = GiniDecisionTree.Fit(samples, targets, 3, depth);

        // Then the tree has the shape of one of sklearn's, every query on which all of sklearn's trees
        // agree gets exactly their probability, and every other query one of theirs
        const int States = 10;
        var shapes = info.RootElement.EnumerateArray().Select(e => (e.GetProperty("depth").GetInt32(), e.GetProperty("nodes").GetInt32())).ToList();
        Assert.Contains((tree.Depth, tree.NodeCount), shapes);
        var expected = NpyFile.Read(temp.File("proba.npy")).As<double>();
        var ours = tree.PredictProbabilities(queries);
        var agreed = 0;
        for (var i = 0; i < ours.Length; i++)
        {
            var theirs = expected.AsSpan(i * States, States).ToArray();
            if (theirs.All(p => p == theirs[0]))
            {
                agreed++;
                Assert.True(Math.Abs(theirs[0] - ours[i]) < 1e-12, $"query {i}: {ours[i]} vs sklearn {theirs[0]}");
            }
            else
            {
                Assert.Contains(theirs, p => Math.Abs(p - ours[i]) < 1e-12);
            }
        }
        // Deep trees on 600 samples have small nodes, where exact ties are common (253 of 300 agreed at depth 7).
        Assert.True(agreed >= ours.Length * 0.75, $"sklearn's trees agree on only {agreed} of {ours.Length} queries");
    }

    [Fact]
    public void A_hand_worked_tree_cuts_at_the_midpoint_of_the_purest_split()
    {
        // Given x0 = 1, 2, 3, 4 with labels 0, 0, 1, 1 and a noise feature x1 = 4, 1, 3, 2
        float[] samples = [1, 4, 2, 1, 3, 3, 4, 2];
        bool[] targets = [false, false, true, true];

        // When a depth-2 tree grows
        var tree = GiniDecisionTree.Fit(samples, targets, 2, 2);

        // Then one cut at x0 <= 2.5 separates them (gini 0 on both sides), so the tree has 3 nodes
        Assert.Equal(3, tree.NodeCount);
        Assert.Equal(1, tree.Depth);
        Assert.Equal(0, tree.PredictProbability([2.5f, 9]));
        Assert.Equal(1, tree.PredictProbability([2.51f, 9]));
    }

    [Fact]
    public void Sum_fusion_with_weight_zero_reproduces_the_classifier_scores_exactly()
    {
        // Given classifier and label-embedding rows over 6 labels, with scores in top-k order
        var classifier = CsrMatrix.FromRows(6, [[4, 1, 0], [2, 5]], [[0.91f, 0.33333334f, -0.2f], [0.7f, 0.1f]]);
        var labels = CsrMatrix.FromRows(6, [[0, 3], [5, 1]], [[0.95f, 0.5f], [0.9f, 0.8f]]);

        // When
        var fused = ScoreFusion.WeightedSum(classifier, labels, 0, 3);
        var half = ScoreFusion.WeightedSum(classifier, labels, 0.5, 3);

        // Then weight 0 is the classifier to the bit; weight 0.5 averages over the union
        Assert.Equal(classifier.IndPtr, fused.IndPtr);
        Assert.Equal(classifier.Indices, fused.Indices);
        Assert.Equal(classifier.Data.Select(BitConverter.SingleToInt32Bits), fused.Data.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal([4, 0, 3], half.RowIndices(0).ToArray());
        Assert.Equal(0.375f, half.RowValues(0)[1], 6);
    }

    [Fact]
    public void Tree_fusion_adds_beta_times_probability_and_label_score_to_the_classifier_score()
    {
        // Given a tree that learned "classifier score above 0.5 means relevant"
        var train = CsrMatrix.FromRows(4, [[0, 1], [2, 3]], [[0.9f, 0.1f], [0.8f, 0.2f]]);
        var trainLabels = CsrMatrix.FromRows(4, [[0], [3]], [[0.5f], [0.4f]]);
        var truth = CsrMatrix.FromRows(4, [[0], [2]]);
        double[] weights = [1.5, 1.5, 1.5, 1.5];
        var tree = ScoreFusion.Fit(train, trainLabels, truth, weights, 7);

        // When a row with classifier {1: 0.7, 2: 0.3} and label scores {2: 0.6, 3: 0.2} is fused with β = 0.5
        var fused = ScoreFusion.Predict(tree, CsrMatrix.FromRows(4, [[1, 2]], [[0.7f, 0.3f]]), CsrMatrix.FromRows(4, [[2, 3]], [[0.6f, 0.2f]]), weights, 0.5, 10);

        // Then 1: 0.5·(1 + 0) + 0.7, 2: 0.5·(0 + 0.6) + 0.3, 3 (label retrieval only): 0.5·0.2
        Assert.Equal([1, 2, 3], fused.RowIndices(0).ToArray());
        Assert.Equal(1.2f, fused.RowValues(0)[0], 6);
        Assert.Equal(0.6f, fused.RowValues(0)[1], 6);
        Assert.Equal(0.1f, fused.RowValues(0)[2], 6);
    }

    private static (float[] Samples, bool[] Targets) FusionSamples(Random random, int count)
    {
        var samples = new float[count * 3];
        var targets = new bool[count];
        for (var i = 0; i < count; i++)
        {
            var clf = (float)random.NextDouble();
            var label = random.NextDouble() < 0.3 ? 0f : (float)random.NextDouble();
            var propensity = (float)(1 + (random.Next(5) * 0.25));
            samples[(i * 3) + 0] = clf;
            samples[(i * 3) + 1] = label;
            samples[(i * 3) + 2] = propensity;
            targets[i] = random.NextDouble() < (0.6 * clf) + (0.3 * label) + (0.1 * (propensity - 1));
        }
        return (samples, targets);
    }
}
