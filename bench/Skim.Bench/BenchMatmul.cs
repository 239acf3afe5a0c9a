using System.Diagnostics;
using static TorchSharp.torch;

namespace Skim.Bench;

/// <summary>The matmul peak that model benchmarks report their share of (ENVIRONMENT.md's probe shape).</summary>
public static class BenchMatmul
{
    /// <summary>
    /// Returns the best-of-<paramref name="repeats"/> GFLOP/s of a 2048×768 by 768×8192 matmul in
    /// <paramref name="dtype"/> (float32 by default) on the CPU, after one warm-up product.
    /// </summary>
    public static double PeakGflops(int repeats = 10, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var a = randn(2048, 768, dtype: dtype);
        var b = randn(768, 8192, dtype: dtype);
        a.matmul(b).Dispose();
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            a.matmul(b).Dispose(); // (2048, 8192)
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * 2048 * 768 * 8192 / best / 1e9;
    }
}
