using System.Text.Json;
using Skim.Core.Formats.Npy;
using Skim.XcTrain.Classifiers.Miv;
using Skim.XcTrain.Tests.Classifiers;
using static TorchSharp.torch;

namespace Skim.XcTrain.Tests.Miv;

[Collection(LibTorchCollection.Name)]
public sealed class MivClassifierTests
{
    private const int Labels = 40;
    private const int Dimension = 16;
    private const int Rows = 6;

    [SkippableFact]
    public void Two_steps_equal_pytorch_sparse_adam_over_a_sparse_embedding_table_with_ngames_loss()
    {
        PythonReference.Require("numpy", "torch");

        // Given random classifier vectors and two batches whose label sets overlap in part (so some
        // rows get one update, some two, and most none), each row with one to four positives
        using var temp = new TempDirectory();
        var random = new Random(7);
        var weights = Gaussian(random, Labels * Dimension);
        NpyFile.Write(temp.File("weights.npy"), NpyArray.Create(weights, Labels, Dimension));
        var batches = new[] { Batch(random, [1, 3, 4, 7, 9, 10, 12, 15, 20, 22, 30]), Batch(random, [0, 3, 4, 5, 8, 12, 17, 21, 25, 30, 33, 39]) };
        for (var s = 0; s < batches.Length; s++)
        {
            var (points, labelSet, targets) = batches[s];
            NpyFile.Write(temp.File($"points_{s + 1}.npy"), NpyArray.Create(points, Rows, Dimension));
            NpyFile.Write(temp.File($"labels_{s + 1}.npy"), NpyArray.Create(labelSet));
            NpyFile.Write(temp.File($"targets_{s + 1}.npy"), NpyArray.Create(targets, Rows, labelSet.Length));
        }

        // When both take the two steps at lr 0.05
        var python = JsonSerializer.Deserialize<double[]>(PythonReference.Run(PythonReference.Script("miv_loss.py"), temp.Path, "2", "0.05"))!;
        using var classifier = new MivClassifier(weights, Labels, Dimension, "cpu");
        var losses = batches.Select(b =>
        {
            using var points = tensor(b.Points, [Rows, Dimension]);
            using var targets = tensor(b.Targets, [Rows, b.LabelSet.Length]);
            return classifier.Step(points, b.LabelSet, targets, 0.05, new MivStepSettings());
        }).ToArray();

        // Then the losses and every updated vector agree to float32 precision
        Assert.Equal(python.Length, losses.Length);
        for (var s = 0; s < losses.Length; s++)
        {
            Assert.True(Math.Abs(python[s] - losses[s]) < 1e-5, $"step {s + 1}: loss {losses[s]} vs {python[s]}");
            Assert.True(losses[s] > 0, "the case must exercise the hinge");
        }
        var expected = NpyFile.Read(temp.File("weights_after.npy")).As<float>();
        var ours = classifier.WeightsArray();
        var worst = expected.Zip(ours, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 1e-5, $"largest vector difference {worst}");
        Assert.NotEqual(weights, ours);
    }

    [Fact]
    public void A_step_moves_only_the_rows_of_the_batch_label_set_and_leaves_every_other_row_bit_identical()
    {
        // Given a classifier and a batch over labels {2, 5, 11, 17, 23, 31}
        var random = new Random(3);
        var weights = Gaussian(random, Labels * Dimension);
        using var classifier = new MivClassifier(weights, Labels, Dimension, "cpu");
        var (points, labelSet, targets) = Batch(random, [2, 5, 11, 17, 23, 31]);
        using var pointTensor = tensor(points, [Rows, Dimension]);
        using var targetTensor = tensor(targets, [Rows, labelSet.Length]);

        // When it takes two steps
        classifier.Step(pointTensor, labelSet, targetTensor, 0.1, new MivStepSettings());
        classifier.Step(pointTensor, labelSet, targetTensor, 0.1, new MivStepSettings());

        // Then the batch's rows moved, every other row is untouched to the bit, and so are their Adam moments
        var after = classifier.WeightsArray();
        var (first, second) = classifier.MomentArrays();
        var touched = labelSet.Select(l => (int)l).ToHashSet();
        for (var l = 0; l < Labels; l++)
        {
            var before = weights.AsSpan(l * Dimension, Dimension).ToArray();
            var now = after.AsSpan(l * Dimension, Dimension).ToArray();
            if (touched.Contains(l))
            {
                Assert.NotEqual(before, now);
            }
            else
            {
                Assert.Equal(before.Select(BitConverter.SingleToInt32Bits), now.Select(BitConverter.SingleToInt32Bits));
                Assert.All(first.AsSpan(l * Dimension, Dimension).ToArray(), v => Assert.Equal(0f, v));
                Assert.All(second.AsSpan(l * Dimension, Dimension).ToArray(), v => Assert.Equal(0f, v));
            }
        }
        Assert.Equal(2, classifier.Steps);
    }

    [Fact]
    public void The_classifier_starts_from_the_normalised_label_embeddings()
    {
        using var classifier = MivClassifier.FromLabelEmbeddings([3, 4, 0, 0, 0, 2], 3, 2);

        Assert.Equal([0.6f, 0.8f, 0, 0, 0, 1], classifier.WeightsArray());
    }

    // Rows with one to four positives among the label set; the set is larger than the batch (|U| != B).
    private static (float[] Points, long[] LabelSet, float[] Targets) Batch(Random random, int[] labels)
    {
        var points = Gaussian(random, Rows * Dimension);
        var targets = new float[Rows * labels.Length];
        for (var r = 0; r < Rows; r++)
        {
            var count = 1 + random.Next(4);
            foreach (var c in Enumerable.Range(0, labels.Length).OrderBy(_ => random.Next()).Take(count))
            {
                targets[(r * labels.Length) + c] = 1;
            }
        }
        return (points, [.. labels.Select(l => (long)l)], targets);
    }

    private static float[] Gaussian(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];
}
