using Skim.Core.Formats.Npy;
using Skim.XcTrain.Losses;
using Skim.XcTrain.Tests.Classifiers;
using Xunit.Abstractions;
using static Skim.XcTrain.Tests.Losses.LossTensors;
using static TorchSharp.torch;

namespace Skim.XcTrain.Tests.Losses;

[Collection(LibTorchCollection.Name)]
public sealed class XcLossesReferenceTests(ITestOutputHelper output)
{
    // float32 on both sides; the losses are O(1-10) and the gradients O(1/B).
    private const double LossTolerance = 1e-5;
    private const double GradientTolerance = 1e-5;

    private const int DualRows = 8;
    private const int DualColumns = 40;
    private const int SquareRows = 24;
    private const int MultiRows = 10;
    private const int MultiColumns = 30;

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_loss_and_its_gradient_equal_the_pytorch_reference_on_random_inputs(int seed)
    {
        PythonReference.Require("numpy", "torch");

        // Given random temperature-scaled scores with one to four positives per row (some sampled,
        // relevance in [0.2, 2)), an in-batch cosine matrix with duplicate-label positives off the
        // diagonal, and a multi-positive cosine matrix with rows of one to five positives
        using var temp = new TempDirectory();
        var random = new Random(seed);
        var (dualScores, relevance, sampled) = DualInputs(random);
        var square = SquareInputs(random);
        var multi = MultiInputs(random);
        using var scores = tensor(dualScores, [DualRows, DualColumns]);
        using var relevanceTensor = tensor(relevance, [DualRows, DualColumns]);
        using var sampledTensor = tensor(sampled, [DualRows, DualColumns]);
        using var perRowK = relevanceTensor.sum(1).ceil(); // (B) DEXML's topk_K: num_pos
        using var squareScores = tensor(square.Scores, [SquareRows, SquareRows]);
        using var squareTargets = tensor(square.Targets, [SquareRows, SquareRows]);
        using var multiScores = tensor(multi.Scores, [MultiRows, MultiColumns]);
        using var multiTargets = tensor(multi.Targets, [MultiRows, MultiColumns]);
        Save(temp, "dual_scores", dualScores, DualRows, DualColumns);
        Save(temp, "relevance", relevance, DualRows, DualColumns);
        Save(temp, "sampled", sampled, DualRows, DualColumns);
        Save(temp, "topk_rows", perRowK.data<float>().ToArray(), DualRows);
        Save(temp, "square_scores", square.Scores, SquareRows, SquareRows);
        Save(temp, "square_targets", square.Targets, SquareRows, SquareRows);
        Save(temp, "multi_scores", multi.Scores, MultiRows, MultiColumns);
        Save(temp, "multi_targets", multi.Targets, MultiRows, MultiColumns);

        // When
        PythonReference.Run(PythonReference.Script("xc_losses.py"), temp.Path);
        var ours = new Dictionary<string, (double Loss, double[] Gradient)>
        {
            ["softmax"] = WithGradient(scores, s => DualEncoderLosses.Softmax(s, sampledTensor, relevanceTensor)),
            ["softmax_weighted"] = WithGradient(scores, s => DualEncoderLosses.Softmax(s, sampledTensor, relevanceTensor, weighted: true)),
            ["decoupled"] = WithGradient(scores, s => DualEncoderLosses.DecoupledSoftmax(s, relevanceTensor, sampledTensor)),
            ["decoupled_weighted"] = WithGradient(scores, s => DualEncoderLosses.DecoupledSoftmax(s, relevanceTensor, sampledTensor, weighted: true)),
            ["topk"] = WithGradient(scores, s => DualEncoderLosses.SoftTopK(s, relevanceTensor, sampledTensor)),
            ["topk_weighted"] = WithGradient(scores, s => DualEncoderLosses.SoftTopK(s, relevanceTensor, sampledTensor, weighted: true)),
            ["topk_rows"] = WithGradient(scores, s => DualEncoderLosses.SoftTopK(s, relevanceTensor, sampledTensor, perRowK)),
            ["ohnm"] = WithGradient(squareScores, s => TripletLosses.OnlineHardNegativeMining(s, squareTargets)),
            ["ohnm_plain"] = WithGradient(squareScores, s => TripletLosses.OnlineHardNegativeMining(s, squareTargets, applySoftmax: false)),
            ["ohnm_multi"] = WithGradient(multiScores, s => TripletLosses.OnlineHardNegativeMiningMulti(s, multiTargets)),
        };

        // Then
        foreach (var (name, (loss, gradient)) in ours)
        {
            var expectedLoss = (double)NpyFile.Read(temp.File(name + "_loss.npy")).As<float>()[0];
            var expectedGradient = NpyFile.Read(temp.File(name + "_grad.npy")).As<float>().Select(g => (double)g).ToArray();
            var gradientGap = expectedGradient.Zip(gradient, (e, a) => Math.Abs(e - a)).Max();
            output.WriteLine($"{name}: loss {loss:R} vs {expectedLoss:R} (gap {Math.Abs(loss - expectedLoss):E2}), max gradient gap {gradientGap:E2}");
            Assert.True(Math.Abs(loss - expectedLoss) <= LossTolerance * Math.Max(1, Math.Abs(expectedLoss)), $"{name}: loss {loss} vs reference {expectedLoss}");
            Assert.True(gradient.Any(g => g != 0), $"{name}: the case must produce a gradient to be a test");
            AssertClose(expectedGradient, gradient, GradientTolerance);
        }
    }

    private static (float[] Scores, float[] Relevance, float[] Sampled) DualInputs(Random random)
    {
        var scores = Gaussian(random, DualRows * DualColumns, 3);
        var relevance = new float[DualRows * DualColumns];
        var sampled = new float[DualRows * DualColumns];
        for (var i = 0; i < DualRows; i++)
        {
            // 1..4 distinct positive columns; a random non-empty prefix of them is sampled (up to K = 5).
            var columns = Enumerable.Range(0, DualColumns).OrderBy(_ => random.Next()).Take(random.Next(1, 5)).ToArray();
            var drawn = random.Next(1, columns.Length + 1);
            for (var p = 0; p < columns.Length; p++)
            {
                relevance[(i * DualColumns) + columns[p]] = (float)(0.2 + (random.NextDouble() * 1.8));
                sampled[(i * DualColumns) + columns[p]] = p < drawn ? 1 : 0;
            }
        }
        return (scores, relevance, sampled);
    }

    private static (float[] Scores, float[] Targets) SquareInputs(Random random)
    {
        // Cosines with the diagonal lifted so that some rows have no violator, and three duplicate
        // labels (a second positive off the diagonal) that must not be mined.
        var scores = Enumerable.Range(0, SquareRows * SquareRows).Select(_ => (float)((random.NextDouble() * 1.6) - 0.8)).ToArray();
        var targets = new float[SquareRows * SquareRows];
        for (var i = 0; i < SquareRows; i++)
        {
            scores[(i * SquareRows) + i] = (float)(0.3 + (random.NextDouble() * 0.7));
            targets[(i * SquareRows) + i] = 1;
        }
        for (var d = 0; d < 3; d++)
        {
            var (i, j) = (random.Next(SquareRows), random.Next(SquareRows));
            targets[(i * SquareRows) + j] = 1;
            targets[(j * SquareRows) + i] = 1;
        }
        return (scores, targets);
    }

    private static (float[] Scores, float[] Targets) MultiInputs(Random random)
    {
        var scores = Enumerable.Range(0, MultiRows * MultiColumns).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        var targets = new float[MultiRows * MultiColumns];
        for (var i = 0; i < MultiRows; i++)
        {
            foreach (var u in Enumerable.Range(0, MultiColumns).OrderBy(_ => random.Next()).Take(random.Next(1, 6)))
            {
                targets[(i * MultiColumns) + u] = 1;
            }
        }
        return (scores, targets);
    }

    private static float[] Gaussian(Random random, int count, double scale) =>
        Enumerable.Range(0, count)
            .Select(_ => (float)(scale * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))
            .ToArray();

    private static void Save(TempDirectory temp, string name, float[] values, params long[] shape) =>
        NpyFile.Write(temp.File(name + ".npy"), NpyArray.Create(values, shape));
}
