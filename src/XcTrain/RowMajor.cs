using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Skim.XcTrain;

/// <summary>Row-major float32 matrices held as .NET arrays, and their moves to and from tensors.</summary>
internal static class RowMajor
{
    /// <summary>Copies the <paramref name="rows"/> of a (· × <paramref name="dimension"/>) matrix, in that order.</summary>
    public static float[] Gather(float[] values, IReadOnlyList<int> rows, int dimension)
    {
        var gathered = new float[(long)rows.Count * dimension];
        for (var i = 0; i < rows.Count; i++)
        {
            Array.Copy(values, (long)rows[i] * dimension, gathered, (long)i * dimension, dimension);
        }
        return gathered;
    }

    /// <summary>Gets a (rows × columns) tensor of its own on <paramref name="device"/>, outside any dispose scope.</summary>
    public static Tensor ToTensor(float[] values, int rows, int columns, Device device)
    {
        using var host = tensor(values, [rows, columns], ScalarType.Float32); // (rows, columns)
        return host.to(device).clone().DetachFromDisposeScope();
    }

    /// <summary>Copies a float32 tensor (any device) into an array.</summary>
    public static float[] FromTensor(Tensor source)
    {
        using var host = source.cpu().contiguous();
        // Tensor.bytes spans the tensor's memory; TensorAccessor.ToArray copies element by element.
        return MemoryMarshal.Cast<byte, float>(host.bytes).ToArray();
    }
}
