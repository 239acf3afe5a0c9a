using static TorchSharp.torch;

namespace Skim.Models.Tests;

[Collection(LibTorchCollection.Name)]
public sealed class TorchSharpLoadsTests
{
    [Fact]
    public void Tensors_multiply_and_backpropagate_on_this_machine()
    {
        // Given two small matrices, one of which requires gradients
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]).requires_grad_(true);
        var b = tensor(new float[] { 5, 6, 7, 8 }, [2, 2]);

        // When they are multiplied and the sum is differentiated
        var product = a.matmul(b); // (2, 2)
        product.sum().backward();

        // Then the product and d(sum(AB))/dA = 1 · Bᵀ are exact
        Assert.Equal(new float[] { 19, 22, 43, 50 }, product.data<float>().ToArray());
        Assert.Equal(new float[] { 11, 15, 11, 15 }, a.grad!.data<float>().ToArray());
        Assert.Contains("TorchSharp", TorchRuntime.Describe(), StringComparison.Ordinal);
    }
}
