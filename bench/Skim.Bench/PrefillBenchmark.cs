using System.Diagnostics;
using System.Globalization;
using Skim.Models.Generation;
using Skim.Models.Llama;
using static TorchSharp.torch;

namespace Skim.Bench;

/// <summary>
/// TorchSharp generation with the prompts of a batch prefilled together (left-padded, masked
/// attention) against one at a time into the batch's KV cache (<see cref="PrefillMode"/>), on a
/// SmolLM-135M-shaped decoder with random weights: SKIM's step-1 shape (i), about 750 prompt tokens
/// of different lengths and 64 new tokens, and shape (ii), 32 + 64. Reported: the prefill alone
/// (one new token) in prompt tokens/s, and the whole run in generated tokens/s; best of the rounds.
/// </summary>
public sealed class PrefillBenchmark : IBenchScenario
{
    private static int Rounds => BenchOptions.Quick ? 1 : 2;

    private static int NewTokens => BenchOptions.Quick ? 8 : 64;

    // Shape (i) at batch 32 would spend minutes in the batched prefill alone; batch 8 is step-1's default.
    private static (string Name, int Shortest, int Longest, int[] Batches)[] Shapes => [("(i) ~725 + 64", 690, 760, [8]), ("(ii) ~30 + 64", 28, 32, [8, 32])];

    /// <inheritdoc />
    public string Name => "prefill";

    /// <inheritdoc />
    public string Description => "TorchSharp generation: batched vs per-row prefill (SmolLM-135M shape, step-1 shapes (i) and (ii))";

    /// <inheritdoc />
    public Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        manual_seed(0);
        using var model = new LlamaForCausalLM(LlamaConfig.SmolLM135M);
        model.eval();
        var generator = new LlamaGenerator(model);
        generator.Generate([[1, 2, 3, 4]], Options(1, PrefillMode.Batched) with { MaxNewTokens = 2 }, ct); // warm-up
        output.WriteLine(Invariant($"{get_num_threads()} threads; best of {Rounds} rounds; load average {LoadAverage()} at the start."));
        output.WriteLine();
        output.WriteLine("| shape | batch | prefill | prefill prompt tokens/s | whole run generated tokens/s | whole run s |");
        output.WriteLine("| --- | ---: | --- | ---: | ---: | ---: |");
        foreach (var (shape, shortest, longest, batches) in BenchOptions.Quick ? Shapes[..1] : Shapes)
        {
            foreach (var batch in batches)
            {
                var random = new Random(batch);
                IReadOnlyList<IReadOnlyList<int>> prompts = [.. Enumerable.Range(0, batch).Select(_ => (IReadOnlyList<int>)[.. Enumerable.Range(0, random.Next(shortest, longest + 1)).Select(_ => random.Next(3, 49152))])];
                var promptTokens = prompts.Sum(p => p.Count);
                foreach (var mode in new[] { PrefillMode.Batched, PrefillMode.PerRow })
                {
                    double prefill = 0, whole = 0, seconds = double.MaxValue;
                    for (var round = 0; round < Rounds; round++)
                    {
                        var clock = Stopwatch.StartNew();
                        generator.Generate(prompts, Options(batch, mode) with { MaxNewTokens = 1 }, ct);
                        prefill = Math.Max(prefill, promptTokens / clock.Elapsed.TotalSeconds);
                        clock.Restart();
                        generator.Generate(prompts, Options(batch, mode), ct);
                        seconds = Math.Min(seconds, clock.Elapsed.TotalSeconds);
                        whole = Math.Max(whole, batch * NewTokens / clock.Elapsed.TotalSeconds);
                    }
                    output.WriteLine(Invariant($"| {shape} | {batch} | {mode} | {prefill:F0} | {whole:F1} | {seconds:F1} |"));
                }
            }
        }
        return Task.CompletedTask;
    }

    private static GenerationOptions Options(int batch, PrefillMode prefill) => new()
    {
        MaxNewTokens = NewTokens,
        Temperature = 0.8,
        TopK = 200,
        Seed = 1,
        EosTokenIds = [],
        BatchSize = batch,
        Prefill = prefill,
    };

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
