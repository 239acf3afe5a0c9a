using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Skim.Models.Generation;
using Skim.Models.Llama;
using static TorchSharp.torch;

namespace Skim.Bench;

/// <summary>
/// Issue 3, benchmarks (b) and (c): generation throughput of a SmolLM-135M-shaped decoder (random
/// weights, 32 prompt tokens, 64 new tokens, top-k 200 / temperature 0.8 sampling, no EOS) at batch
/// 1, 8 and 32 against the same computation in PyTorch eager (bench/reference/generation_bench.py),
/// as a share of the compute bound (2 × parameters FLOPs per token at the measured matmul peak);
/// then resident memory after 100 and after 1,000 generation steps. The PyTorch side runs each batch
/// size under the fastest OpenBLAS core type / OMP_WAIT_POLICY whose results are right
/// (<see cref="BenchPython.TuneAsync"/>), and the ratios are against that.
/// </summary>
public sealed class GenerationBenchmark : IBenchScenario
{
    private const int PromptLength = 32;
    private const int MemoryBatch = 8;
    private const int StepsPerCall = 20;
    private const int MemorySamples = 3;

    // --quick shrinks tokens, batches, repeats and the memory run: enough to see every step run.
    private static int NewTokens => BenchOptions.Quick ? 8 : 64;

    private static int Rounds => BenchOptions.Quick ? 1 : 3;

    private static int[] Batches => BenchOptions.Quick ? [1, 8] : [1, 8, 32];

    private static int Bf16Batch => BenchOptions.Quick ? 8 : 32;

    private static (int Early, int Late) MemoryMarks => BenchOptions.Quick ? (40, 100) : (100, 1000);

    // The tuning probe: the same script with 16 new tokens (prefill and decoding both in it), once.
    private static string ProbeNewTokens => BenchOptions.Quick ? "4" : "16";

    /// <inheritdoc />
    public string Name => "generation";

    /// <inheritdoc />
    public string Description => "SmolLM-135M-shaped generation tokens/s (batch 1/8/32) vs PyTorch eager; memory after 100 vs 1,000 steps";

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var threads = get_num_threads();
        var peak = BenchMatmul.PeakGflops();
        manual_seed(0);
        using var model = new LlamaForCausalLM(LlamaConfig.SmolLM135M);
        model.eval();
        var parameters = model.parameters().Sum(p => p.numel());
        var boundTokensPerSecond = peak * 1e9 / (2.0 * parameters);

        var ours = new Dictionary<int, double>();
        var generator = new LlamaGenerator(model);
        generator.Generate(Prompts(1, 8), Options(1) with { MaxNewTokens = 4 }, ct); // warm-up
        // Best of Rounds on both sides, as the matmul peak is a best-of: on a shared machine a single
        // 13-second run absorbs whatever else the host is doing, a best-of-ten 0.1-second matmul does not.
        foreach (var batch in Batches)
        {
            var prompts = Prompts(batch, PromptLength);
            for (var round = 0; round < Rounds; round++)
            {
                var clock = Stopwatch.StartNew();
                generator.Generate(prompts, Options(batch), ct);
                ours[batch] = Math.Max(ours.GetValueOrDefault(batch), batch * NewTokens / clock.Elapsed.TotalSeconds);
            }
        }
        var peakAfter = BenchMatmul.PeakGflops();

        var tuning = await BenchPython.TuneAsync("generation_bench.py", ProbeArguments(Batches, threads, "float32"), ct).ConfigureAwait(false);
        var (theirs, settings) = await RunPythonAsync(tuning, Batches, threads, "float32", ct).ConfigureAwait(false);

        output.WriteLine(Invariant($"Matmul peak (TorchSharp, 2048×768 · 768×8192 f32, best of 10): {peak:F1} GFLOP/s before the Skim runs, {peakAfter:F1} after; {threads} threads; model {parameters / 1e6:F1} M parameters; compute bound {boundTokensPerSecond:F0} tokens/s (from the first). Tokens/s: best of {Rounds} runs on each side, {PromptLength} + {NewTokens} tokens."));
        output.WriteLine();
        tuning.Write(output, "PyTorch float32 generation", b => $"probe: batch {b} tokens/s");
        foreach (var (name, description) in settings)
        {
            output.WriteLine($"PyTorch ran {name}: {description}.");
        }
        output.WriteLine();
        output.WriteLine(Invariant($"| generation (SmolLM-135M shape, {PromptLength} + {NewTokens} tokens) | batch | Skim tokens/s | PyTorch eager tokens/s, fastest right setting | ratio | Skim share of compute bound | PyTorch setting |"));
        output.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var batch in Batches)
        {
            output.WriteLine(Invariant($"| top-k 200, T 0.8, no EOS | {batch} | {ours[batch]:F1} | {theirs[batch]:F1} | {ours[batch] / theirs[batch]:F2}× | {100 * ours[batch] / boundTokensPerSecond:F1} % | {tuning.NameFor($"{batch}")} |"));
        }

        // bfloat16 on both sides, against the bfloat16 matmul peak: where the CPU has AVX512-BF16
        // the half-width weights stream twice as fast, which is what decoding is bound by.
        if (CpuHasBf16())
        {
            var bf16Peak = BenchMatmul.PeakGflops(dtype: ScalarType.BFloat16);
            var bf16Bound = bf16Peak * 1e9 / (2.0 * parameters);
            double bf16Ours = 0;
            manual_seed(0);
            using (var bf16Model = new LlamaForCausalLM(LlamaConfig.SmolLM135M, dtype: ScalarType.BFloat16))
            {
                bf16Model.eval();
                var bf16Generator = new LlamaGenerator(bf16Model);
                bf16Generator.Generate(Prompts(1, 8), Options(1) with { MaxNewTokens = 4 }, ct); // warm-up
                for (var round = 0; round < Rounds; round++)
                {
                    var clock = Stopwatch.StartNew();
                    bf16Generator.Generate(Prompts(Bf16Batch, PromptLength), Options(Bf16Batch), ct);
                    bf16Ours = Math.Max(bf16Ours, Bf16Batch * NewTokens / clock.Elapsed.TotalSeconds);
                }
            }
            // bfloat16 products go through oneDNN, where the wait policy that suits OpenBLAS was slower:
            // tuned on their own.
            var bf16Tuning = await BenchPython.TuneAsync("generation_bench.py", ProbeArguments([Bf16Batch], threads, "bfloat16"), ct).ConfigureAwait(false);
            var (bf16Theirs, bf16Settings) = await RunPythonAsync(bf16Tuning, [Bf16Batch], threads, "bfloat16", ct).ConfigureAwait(false);
            output.WriteLine(Invariant($"| bfloat16 (bf16 matmul peak {bf16Peak:F1} GFLOP/s, bound {bf16Bound:F0} tokens/s) | {Bf16Batch} | {bf16Ours:F1} | {bf16Theirs[Bf16Batch]:F1} | {bf16Ours / bf16Theirs[Bf16Batch]:F2}× | {100 * bf16Ours / bf16Bound:F1} % | {bf16Tuning.NameFor($"{Bf16Batch}")} |"));
            output.WriteLine();
            bf16Tuning.Write(output, "PyTorch bfloat16 generation", b => $"probe: batch {b} tokens/s");
            foreach (var (name, description) in bf16Settings)
            {
                output.WriteLine($"PyTorch bfloat16 ran {name}: {description}.");
            }
        }
        else
        {
            // Without AVX512-BF16 (or AMX) both stacks multiply bfloat16 in scalar fallback loops (on an
            // AVX2 EPYC: about 0.1 GFLOP/s in libtorch 2.10, 0.5 in PyTorch 1.13, on a loaded machine): a
            // batch-32 run, or even the bf16 peak probe, would take tens of minutes and compare nothing useful.
            output.WriteLine();
            output.WriteLine("bfloat16 row skipped: this CPU has neither AVX512-BF16 nor AMX-BF16, so both stacks multiply bfloat16 in scalar fallback loops (well under 1 GFLOP/s).");
        }

        var memory = MemoryAfterSteps(generator, ct);
        var (early, late) = MemoryMarks;
        output.WriteLine();
        output.WriteLine(Invariant($"| generation memory (batch {MemoryBatch}, {PromptLength} + {StepsPerCall} tokens per call, repeated) | after {early:N0} steps | after {late:N0} steps | change |"));
        output.WriteLine("| --- | --- | --- | --- |");
        MemoryRow(output, $"RSS, median of {MemorySamples} samples (after the mark's call and the {MemorySamples - 1} calls after it), each after full GC + malloc_trim", memory.EarlySettled.Select(m => m.Rss), memory.LateSettled.Select(m => m.Rss));
        MemoryRow(output, "anonymous RSS (RssAnon: heap and tensors, no mapped files), same samples", memory.EarlySettled.Select(m => m.Anonymous), memory.LateSettled.Select(m => m.Anonymous));
        MemoryRow(output, "RSS as read before this change (one sample at the mark, no GC or trim)", [memory.EarlyRaw.Rss], [memory.LateRaw.Rss]);
        var settled = Change(memory.EarlySettled.Select(m => m.Rss), memory.LateSettled.Select(m => m.Rss));
        var anonymous = Change(memory.EarlySettled.Select(m => m.Anonymous), memory.LateSettled.Select(m => m.Anonymous));
        output.WriteLine();
        output.WriteLine(Invariant($"Memory target (settled RSS and anonymous RSS both within 5 %): {(Math.Abs(settled) <= 5 && Math.Abs(anonymous) <= 5 ? "met" : "NOT met")}. Samples (MiB, RSS / RssAnon): {string.Join(", ", memory.EarlySettled.Concat(memory.LateSettled).Select(m => $"{m.Rss / 1048576.0:F0}/{m.Anonymous / 1048576.0:F0}"))}."));
    }

    private static string[] ProbeArguments(int[] batches, int threads, string dtype) =>
        ["--batches", string.Join(",", batches), "--prompt-len", $"{PromptLength}", "--new-tokens", ProbeNewTokens, "--threads", $"{threads}", "--repeats", "1", "--dtype", dtype];

    // One Python process per chosen setting, running the batch sizes that chose it (a setting is an
    // environment: it must be set before torch loads). Returns tokens/s per batch and, per setting,
    // what the process reported it ran with.
    private static async Task<(Dictionary<int, double> TokensPerSecond, List<(string Name, string Description)> Settings)> RunPythonAsync(
        BaselineTuning tuning, int[] batches, int threads, string dtype, CancellationToken ct)
    {
        var tokensPerSecond = new Dictionary<int, double>();
        var settings = new List<(string, string)>();
        foreach (var group in batches.GroupBy(b => tuning.NameFor($"{b}")))
        {
            var json = await BenchPython.RunAsync(
                "generation_bench.py",
                ["--batches", string.Join(",", group), "--prompt-len", $"{PromptLength}", "--new-tokens", $"{NewTokens}", "--threads", $"{threads}", "--repeats", $"{Rounds}", "--dtype", dtype],
                ct,
                tuning.EnvironmentFor($"{group.First()}")).ConfigureAwait(false);
            using var document = JsonDocument.Parse(json);
            foreach (var r in document.RootElement.GetProperty("results").EnumerateArray())
            {
                tokensPerSecond[r.GetProperty("batch").GetInt32()] = r.GetProperty("tokens_per_s").GetDouble();
            }
            settings.Add(($"batch {string.Join(", ", group)} with {group.Key}", BaselineTuning.Describe(document.RootElement.GetProperty("baseline"))));
        }
        return (tokensPerSecond, settings);
    }

    private static bool CpuHasBf16()
    {
        if (!File.Exists("/proc/cpuinfo"))
        {
            return false;
        }
        var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(' ') ?? [];
        return flags.Contains("avx512_bf16") || flags.Contains("amx_bf16");
    }

    private static GenerationOptions Options(int batch) => new()
    {
        MaxNewTokens = NewTokens,
        Temperature = 0.8,
        TopK = 200,
        Seed = 1,
        EosTokenIds = [],
        BatchSize = batch,
    };

    private static List<IReadOnlyList<int>> Prompts(int batch, int length)
    {
        var random = new Random(batch);
        return [.. Enumerable.Range(0, batch).Select(_ => (IReadOnlyList<int>)[.. Enumerable.Range(0, length).Select(_ => random.Next(3, LlamaConfig.SmolLM135M.VocabSize))])];
    }

    private readonly record struct MemorySample(long Rss, long Anonymous);

    private sealed record MemoryRun(List<MemorySample> EarlySettled, List<MemorySample> LateSettled, MemorySample EarlyRaw, MemorySample LateRaw);

    // Runs calls of 20 steps each. One reading of the resident set at one instant measures whatever
    // glibc's per-thread arenas and the .NET heap happen to hold just then (the KV cache and
    // activations of the call before, freed but not yet given back, garbage not yet collected), and
    // VmRSS also counts libtorch's code pages, which the kernel maps in and drops as it likes: that can
    // move a single reading by several per cent from run to run. So from each mark (100 and 1,000
    // steps) on, MemorySamples calls are each followed by a full blocking GC (finalizers run) and
    // malloc_trim(0), which returns free heap pages to the kernel, and the median counts: what stays is
    // memory something still holds, which is what a leak would grow. Fragmentation that keeps pages
    // from being returned still shows. The old reading (one sample at the mark, taken before any GC or
    // trim at that mark) is kept alongside.
    private static MemoryRun MemoryAfterSteps(LlamaGenerator generator, CancellationToken ct)
    {
        var (early, late) = MemoryMarks;
        var window = MemorySamples * StepsPerCall;
        var earlySettled = new List<MemorySample>();
        var lateSettled = new List<MemorySample>();
        MemorySample earlyRaw = default, lateRaw = default;
        for (var steps = StepsPerCall; steps < late + window; steps += StepsPerCall)
        {
            generator.Generate(Prompts(MemoryBatch, PromptLength), Options(MemoryBatch) with { MaxNewTokens = StepsPerCall, Seed = steps }, ct);
            if (steps == early)
            {
                earlyRaw = ReadMemory();
            }
            if (steps == late)
            {
                lateRaw = ReadMemory();
            }
            if (steps >= early && steps < early + window)
            {
                earlySettled.Add(SettledMemory());
            }
            if (steps >= late)
            {
                lateSettled.Add(SettledMemory());
            }
        }
        return new MemoryRun(earlySettled, lateSettled, earlyRaw, lateRaw);
    }

    private static MemorySample SettledMemory()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        NativeMemory.Trim();
        return ReadMemory();
    }

    // VmRSS counts mapped files too (libtorch's code, touched or dropped by the kernel as it likes);
    // RssAnon is the heap and tensor memory a leak would grow.
    private static MemorySample ReadMemory()
    {
        long rss = 0, anonymous = 0;
        if (File.Exists("/proc/self/status"))
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kilobytes(line) * 1024;
                }
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    anonymous = Kilobytes(line) * 1024;
                }
            }
        }
        if (rss == 0)
        {
            using var process = Process.GetCurrentProcess();
            rss = anonymous = process.WorkingSet64;
        }
        return new MemorySample(rss, anonymous);
    }

    private static long Kilobytes(string statusLine) =>
        long.Parse(statusLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private static double Median(IEnumerable<long> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2.0;
    }

    private static double Change(IEnumerable<long> early, IEnumerable<long> late)
    {
        var before = Median(early);
        return 100.0 * (Median(late) - before) / before;
    }

    private static void MemoryRow(TextWriter output, string label, IEnumerable<long> early, IEnumerable<long> late) =>
        output.WriteLine(Invariant($"| {label} | {Median(early) / 1048576.0:F0} MiB | {Median(late) / 1048576.0:F0} MiB | {Change(early, late):+0.0;-0.0} % |"));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
