using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;

namespace Skim.Bench;

/// <summary>
/// Writes and reads a 1,000,000 x 100,000 CSR matrix with 10,000,000 random non-zeros (float32) with
/// scipy.sparse.save_npz/load_npz and with <see cref="SparseNpz"/>, compressed and stored.
/// </summary>
public sealed class NpzBenchmark : IBenchScenario
{
    private const int Rows = 1_000_000;
    private const int Columns = 100_000;
    private const int NonZeros = 10_000_000;
    private const int Seed = 42;
    private const int Repeats = 3;

    public string Name => "npz";

    public string Description => "scipy sparse .npz write/read, 1M x 100K CSR, 10M non-zeros (scipy.sparse vs SparseNpz)";

    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var work = Path.Combine(workDirectory, "npz");
        Directory.CreateDirectory(work);
        var json = await BenchPython.RunAsync(
            "npz_bench.py",
            [work, .. new[] { Rows, Columns, NonZeros, Seed, Repeats }.Select(v => v.ToString(CultureInfo.InvariantCulture))],
            ct).ConfigureAwait(false);
        using var scipy = JsonDocument.Parse(json);
        var matrix = SparseNpz.Load(Path.Combine(work, "input.npz"));

        output.WriteLine("| operation | scipy (s) | Skim (s) | ratio (scipy / Skim) | file size scipy / Skim (MB) |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var compressed in new[] { true, false })
        {
            var key = compressed ? "compressed" : "stored";
            var path = Path.Combine(work, $"skim-{key}.npz");
            var options = new SparseNpzOptions { Compressed = compressed };
            var write = Best(() => SparseNpz.Save(path, matrix, options));
            CsrMatrix? back = null;
            var read = Best(() => back = SparseNpz.Load(path));
            if (back is null || !back.Indices.AsSpan().SequenceEqual(matrix.Indices) || !back.Data.AsSpan().SequenceEqual(matrix.Data))
            {
                throw new InvalidOperationException($"{path}: matrix read back differs from the one written");
            }
            var sizes = $"{scipy.RootElement.GetProperty($"bytes_{key}").GetDouble() / 1e6:F1} / {new FileInfo(path).Length / 1e6:F1}";
            Row(output, $"write, {key}", scipy.RootElement.GetProperty($"write_{key}").GetDouble(), write, sizes);
            Row(output, $"read, {key}", scipy.RootElement.GetProperty($"read_{key}").GetDouble(), read, sizes);
        }
    }

    private static void Row(TextWriter output, string operation, double scipy, double skim, string sizes) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {operation} | {scipy:F3} | {skim:F3} | {scipy / skim:F2}x | {sizes} |"));

    private static double Best(Action action)
    {
        var best = double.MaxValue;
        for (var i = 0; i < Repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }
}
