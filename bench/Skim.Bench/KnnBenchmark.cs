using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Skim.Core.Formats.Npy;
using Skim.Models.Search;

namespace Skim.Bench;

/// <summary>
/// Step-2's exact kNN at d = 768: <see cref="ExactKnn"/> (query block × target block matmuls in
/// libtorch with a running top-K merge) against numpy's <c>Q @ T.T</c> + <c>argpartition</c> on the
/// same .npy files, both in float32 on the CPU with 2 threads, as GFLOP/s and as a share of each
/// side's measured matmul peak. numpy runs at its best: kernel and wait policy picked by a probe.
/// </summary>
public sealed class KnnBenchmark : IBenchScenario
{
    private const int Dimension = 768;
    private const int K = 200;

    /// <inheritdoc />
    public string Name => "knn";

    /// <inheritdoc />
    public string Description => "step-2 exact top-200 inner-product kNN at d = 768 vs numpy matmul + argpartition";

    private static int Queries => BenchOptions.Quick ? 1_000 : 10_000;

    private static int Targets => BenchOptions.Quick ? 10_000 : 100_000;

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var dir = Path.Combine(workDirectory, "knn");
        Directory.CreateDirectory(dir);
        var (queriesPath, targetsPath) = (Path.Combine(dir, "queries.npy"), Path.Combine(dir, "targets.npy"));
        var queries = Normalised(Queries, 1);
        var targets = Normalised(Targets, 2);
        NpyFile.Write(queriesPath, NpyArray.Create(queries, [Queries, Dimension]));
        NpyFile.Write(targetsPath, NpyArray.Create(targets, [Targets, Dimension]));
        var flops = 2.0 * Queries * Targets * Dimension;

        var tuning = await BenchPython.TuneAsync("knn_bench.py", ["--queries", queriesPath, "--targets", targetsPath, "--k", $"{K}", "--repeats", "1", "--rows", $"{Math.Min(Queries, 1_000)}"], ct).ConfigureAwait(false);
        var options = new ExactKnnOptions { K = K, Device = "cpu" };
        var (q, t) = (EmbeddingRows.FromArray(queries, Queries, Dimension, "queries"), EmbeddingRows.FromArray(targets, Targets, Dimension, "targets"));
        ExactKnn.Search(q, t, options with { K = K }, null, ct); // warm-up
        var ourPeak = BenchMatmul.PeakGflops();
        var ourSeconds = double.MaxValue;
        KnnResult? ours = null;
        for (var i = 0; i < 2; i++)
        {
            var clock = Stopwatch.StartNew();
            ours = ExactKnn.Search(q, t, options, null, ct);
            ourSeconds = Math.Min(ourSeconds, clock.Elapsed.TotalSeconds);
        }
        ourPeak = Math.Max(ourPeak, BenchMatmul.PeakGflops());

        var indicesPath = Path.Combine(dir, "numpy_indices.npy");
        var json = await BenchPython.RunAsync("knn_bench.py", ["--queries", queriesPath, "--targets", targetsPath, "--k", $"{K}", "--repeats", "2", "--out", indicesPath], ct, tuning.EnvironmentFor("knn")).ConfigureAwait(false);
        using var document = JsonDocument.Parse(json);
        var python = document.RootElement;
        var theirSeconds = python.GetProperty("seconds").GetDouble();
        var theirPeak = python.GetProperty("matmul_gflops").GetDouble();

        // Same neighbours: the share of (row, neighbour) pairs both found (ties and last-bit sums may swap a few at rank K).
        var theirs = NpyFile.Read(indicesPath).As<int>();
        long same = 0;
        for (var r = 0; r < Queries; r++)
        {
            var set = new HashSet<int>(ours!.RowIndices(r).ToArray());
            for (var j = 0; j < K; j++)
            {
                same += set.Contains(theirs[(r * K) + j]) ? 1 : 0;
            }
        }

        output.WriteLine(Invariant($"{Queries:N0} queries × {Targets:N0} targets × {Dimension} dims, top {K}, float32, {Environment.ProcessorCount} cores; {flops / 1e12:F2} TFLOP of products per search; best of 2 searches after a warm-up."));
        tuning.Write(output, "numpy float32 kNN", _ => "probe: query rows/s");
        output.WriteLine(Invariant($"numpy ran with {tuning.NameFor("knn")}: {BaselineTuning.Describe(python.GetProperty("baseline"))}."));
        output.WriteLine();
        output.WriteLine("| exact kNN | seconds | query rows/s | GFLOP/s | matmul peak (GFLOP/s) | share of peak |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        output.WriteLine(Invariant($"| Skim ExactKnn (TorchSharp) | {ourSeconds:F2} | {Queries / ourSeconds:F0} | {flops / ourSeconds / 1e9:F1} | {ourPeak:F1} | {100 * flops / ourSeconds / 1e9 / ourPeak:F0} % |"));
        output.WriteLine(Invariant($"| numpy @ + argpartition, fastest right setting | {theirSeconds:F2} | {Queries / theirSeconds:F0} | {flops / theirSeconds / 1e9:F1} | {theirPeak:F1} | {100 * flops / theirSeconds / 1e9 / theirPeak:F0} % |"));
        output.WriteLine(Invariant($"| ratio Skim / numpy | {theirSeconds / ourSeconds:F2}× | | | | |"));
        output.WriteLine(Invariant($"Neighbours found by both: {100.0 * same / ((long)Queries * K):F3} %."));
    }

    // Rows of unit length, like the L2-normalised embeddings step-2 searches.
    private static float[] Normalised(int rows, int seed)
    {
        var random = new Random(seed);
        var values = new float[(long)rows * Dimension];
        for (var r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * Dimension, Dimension);
            double norm = 0;
            for (var j = 0; j < Dimension; j++)
            {
                // Box-Muller: Gaussian coordinates make directions uniform on the sphere.
                var g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                row[j] = (float)g;
                norm += g * g;
            }
            var scale = (float)(1 / Math.Sqrt(norm));
            for (var j = 0; j < Dimension; j++)
            {
                row[j] *= scale;
            }
        }
        return values;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
