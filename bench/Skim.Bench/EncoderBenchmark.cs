using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Skim.Models.DistilBert;
using Skim.Models.Encoders;
using static TorchSharp.torch;

namespace Skim.Bench;

/// <summary>
/// Issue 3, benchmark (a): encoder throughput of a DistilBERT-base-shaped model (6 layers, hidden 768,
/// 12 heads, FFN 3072, vocab 30522; random weights), batch 256 × 32 tokens, float32 on the CPU, mean
/// pooling — Skim's <see cref="TextEncoder"/> against the same model in PyTorch eager
/// (bench/reference/encoder_bench.py) on the same number of threads, in alternating rounds; warm-up, then best of N. Each side
/// also measures its matmul peak (2048×768 @ 768×8192 float32) to report the share of it reached.
/// The PyTorch side runs under the fastest OpenBLAS core type / OMP_WAIT_POLICY whose results are
/// right (<see cref="BenchPython.TuneAsync"/>), and the ratio is against that.
/// </summary>
public sealed class EncoderBenchmark : IBenchScenario
{
    private const int SequenceLength = 32;
    private const int Threads = 2;

    // --quick shrinks the batch and the repeats: enough to see every step run, not to measure.
    private static int Batch => BenchOptions.Quick ? 32 : 256;

    private static int WarmUp => BenchOptions.Quick ? 1 : 2;

    private static int Repeats => BenchOptions.Quick ? 1 : 3;

    private static int Rounds => BenchOptions.Quick ? 1 : 3;

    // The tuning probe: the same script on a quarter of the batch, best of 2, without the peak.
    private static int ProbeBatch => BenchOptions.Quick ? 8 : 64;

    private static string[] ProbeArguments =>
        ["--batch", $"{ProbeBatch}", "--seq-len", $"{SequenceLength}", "--threads", $"{Threads}", "--warmup", "1", "--repeats", BenchOptions.Quick ? "1" : "2", "--peak-repeats", "0"];

    /// <inheritdoc />
    public string Name => "encoder";

    /// <inheritdoc />
    public string Description => "DistilBERT-base-shaped encoder sequences/s (batch 256 × 32 tokens, f32, 2 threads) vs PyTorch eager; share of matmul peak";

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var loadBefore = LoadAverage();
        set_num_threads(Threads);
        var config = DistilBertConfig.BaseUncased;
        var flopsPerSequence = FlopsPerSequence(config, SequenceLength);

        manual_seed(0);
        using var model = new DistilBertModel(config);
        using var encoder = new TextEncoder(model, null, new TextEncoderOptions { Device = "cpu" }, CPU);
        var parameters = model.parameters().Sum(p => p.numel());
        using var ids = randint(1000, config.VocabSize, [Batch, SequenceLength]); // (B, T)
        using var mask = ones(Batch, SequenceLength, dtype: ScalarType.Int64); // (B, T)
        void Run() => encoder.Embed(ids, mask).Dispose();
        for (var i = 0; i < WarmUp; i++)
        {
            Run();
        }

        // PyTorch runs at its best on this machine: kernel and wait policy picked by a short probe.
        var tuning = await BenchPython.TuneAsync("encoder_bench.py", ProbeArguments, ct).ConfigureAwait(false);
        var setting = tuning.EnvironmentFor("encoder");

        // The machine is shared: the two sides take turns, round after round, so that both see the
        // same load, and each keeps its best batch (and its best matmul peak) over all rounds.
        var (ourSeconds, ourPeak) = (double.MaxValue, 0.0);
        var (theirSeconds, theirPeak) = (double.MaxValue, 0.0);
        JsonElement python = default;
        var roundRatios = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            ourPeak = Math.Max(ourPeak, BenchMatmul.PeakGflops());
            var roundSeconds = BestSeconds(Run, ct);
            ourSeconds = Math.Min(ourSeconds, roundSeconds);
            var json = await BenchPython.RunAsync(
                "encoder_bench.py",
                ["--batch", $"{Batch}", "--seq-len", $"{SequenceLength}", "--threads", $"{Threads}", "--warmup", $"{WarmUp}", "--repeats", $"{Repeats}"],
                ct,
                setting).ConfigureAwait(false);
            using var document = JsonDocument.Parse(json);
            python = document.RootElement.Clone();
            theirSeconds = Math.Min(theirSeconds, python.GetProperty("seconds").GetDouble());
            roundRatios.Add(python.GetProperty("seconds").GetDouble() / roundSeconds);
            theirPeak = Math.Max(theirPeak, python.GetProperty("matmul_gflops").GetDouble());
        }
        var loadAfter = LoadAverage();

        var (ours, theirs) = (Batch / ourSeconds, Batch / theirSeconds);
        var ourGflops = ours * flopsPerSequence / 1e9;
        var theirGflops = theirs * flopsPerSequence / 1e9;
        var libraries = string.Join(", ", python.GetProperty("blas_libraries").EnumerateArray().Select(e => e.GetString()));
        output.WriteLine(Invariant($"DistilBERT-base shape: {parameters / 1e6:F1} M parameters, {flopsPerSequence / 1e9:F3} GFLOP per {SequenceLength}-token sequence; {Threads} threads; {Rounds} alternating rounds of best of {Repeats} batches, after {WarmUp} warm-up batches."));
        output.WriteLine(Invariant($"PyTorch {python.GetProperty("torch").GetString()}, BLAS_INFO={python.GetProperty("blas").GetString()} ({libraries}); TorchSharp libtorch {__version__}. Load average {loadBefore} before, {loadAfter} after."));
        output.WriteLine();
        tuning.Write(output, "PyTorch float32 encoder", _ => $"probe: batch {ProbeBatch} sequences/s");
        output.WriteLine(Invariant($"PyTorch ran with {tuning.NameFor("encoder")} (the fastest right setting of {tuning.CandidateCount} tried; the ratio is against it): {BaselineTuning.Describe(python.GetProperty("baseline"))}."));
        output.WriteLine();
        output.WriteLine(Invariant($"| encoder (batch {Batch} × {SequenceLength} tokens, f32, mean pooling) | sequences/s | GFLOP/s | matmul peak (GFLOP/s) | share of peak |"));
        output.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        output.WriteLine(Invariant($"| Skim (TorchSharp) | {ours:F1} | {ourGflops:F1} | {ourPeak:F1} | {100 * ourGflops / ourPeak:F0} % |"));
        output.WriteLine(Invariant($"| PyTorch 1.13 eager, fastest right setting | {theirs:F1} | {theirGflops:F1} | {theirPeak:F1} | {100 * theirGflops / theirPeak:F0} % |"));
        output.WriteLine(Invariant($"| ratio Skim / PyTorch (fastest setting) | {ours / theirs:F2}× | | | |"));
        output.WriteLine();
        output.WriteLine(Invariant($"Ratio within each round (Skim, then PyTorch right after): {string.Join(", ", roundRatios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture) + "×"))}."));
    }

    /// <summary>
    /// 2 × (weights in matmuls) × tokens for the linear layers, plus the attention products
    /// (q·kᵀ and weights·v: 2 × 2 × T² × hidden per layer). Embedding look-ups, LayerNorm, GELU and
    /// softmax are not counted (they are not matmuls).
    /// </summary>
    private static double FlopsPerSequence(DistilBertConfig config, int tokens)
    {
        double h = config.Dim;
        var matmulWeights = config.NLayers * ((4 * h * h) + (2 * h * config.HiddenDim));
        var attention = config.NLayers * 2.0 * 2.0 * tokens * tokens * h;
        return (2.0 * matmulWeights * tokens) + attention;
    }

    private static double BestSeconds(Action run, CancellationToken ct)
    {
        var best = double.MaxValue;
        for (var i = 0; i < Repeats; i++)
        {
            ct.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            run();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
