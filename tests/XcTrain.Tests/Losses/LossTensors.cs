using TorchSharp;
using static TorchSharp.torch;

namespace Skim.XcTrain.Tests.Losses;

/// <summary>Builds small loss inputs and reads a loss and its gradient back as plain numbers.</summary>
internal static class LossTensors
{
    /// <summary>A float32 (rows, columns) matrix from row-major values.</summary>
    public static Tensor Matrix(int rows, int columns, params float[] values) => tensor(values, [rows, columns]);

    /// <summary>
    /// Evaluates <paramref name="loss"/> on a fresh leaf copy of <paramref name="scores"/> and returns
    /// the loss and d loss / d scores (row-major), both as doubles.
    /// </summary>
    public static (double Loss, double[] Gradient) WithGradient(Tensor scores, Func<Tensor, Tensor> loss)
    {
        using var scope = NewDisposeScope();
        var leaf = scores.detach().clone().requires_grad_(true);
        var value = loss(leaf);
        value.backward();
        var gradient = leaf.grad ?? throw new InvalidOperationException("the loss did not reach the scores");
        return (value.to_type(ScalarType.Float64).item<double>(), gradient.to_type(ScalarType.Float64).data<double>().ToArray());
    }

    /// <summary>Asserts element-wise |expected − actual| ≤ tolerance, naming the worst element.</summary>
    public static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double tolerance)
    {
        Assert.Equal(expected.Count, actual.Count);
        var (worst, at) = (0.0, -1);
        for (var i = 0; i < expected.Count; i++)
        {
            var difference = Math.Abs(expected[i] - actual[i]);
            if (double.IsNaN(difference))
            {
                (worst, at) = (difference, i);
                break;
            }
            if (difference > worst)
            {
                (worst, at) = (difference, i);
            }
        }
        Assert.True(worst <= tolerance, $"element {at}: expected {(at < 0 ? 0 : expected[at])}, got {(at < 0 ? 0 : actual[at])} (difference {worst}, tolerance {tolerance})");
    }
}
