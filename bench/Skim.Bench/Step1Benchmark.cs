using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core.Stages;
using Skim.Distill.Items;
using Skim.Distill.Prompts;
using Skim.Generate.Backends;
using Skim.Generate.Gguf;
using Skim.Generate.Step1;
using Skim.Models.Tokenization;
using static TorchSharp.torch;

namespace Skim.Bench;

/// <summary>
/// Issue 8's benchmark: step-1 generation on the CPU with a SmolLM-135M-shaped model (random
/// weights, top-k 200 / temperature 0.8, no EOS) at SKIM's shape (i) — 750-token prompts, 250 new
/// tokens — and at (ii) 32 + 64 tokens, batch 1, 8 and 32, for Skim's TorchSharp engine (f32, and
/// bf16 where the CPU multiplies bfloat16 natively), Skim's LLamaSharp engine over GGUF exports of
/// the same checkpoint (f32, q8_0, q4_0, q4_k_m) and PyTorch 1.13 eager (bench/reference/step1_bench.py)
/// under the fastest right BLAS setting. Prompt and generated tokens/s are reported apart. Then the
/// three targets: <c>auto</c>'s pick against the fastest measured configuration, the
/// <see cref="Step1Stage"/> end to end as a share of its engine's raw rate, and the best float
/// configuration against PyTorch eager's.
/// </summary>
/// <remarks>
/// Prompt tokens/s of a Skim row come from a second run of the same prompts with one new token (the
/// prompt pass and the first sampled token), since neither engine reports when its prompt pass
/// ends; the PyTorch script times the two parts within one run. "Generated (decode)" is the other
/// new tokens over the rest of the time; "generated (whole run)" all new tokens over the whole
/// run, which is what step-1's throughput is. The full grid must fit in about 25 minutes on 2
/// cores: shape (i) runs once per row (after a warm-up), shape (ii) best of 2; shape (i)'s largest
/// batch runs last, fastest configuration first, and a configuration whose row would overrun the
/// budget is left out with a note. Its prompt pass is not run again: the prompt rate of the batch
/// below it stands in (a 750-token prompt already fills the matmuls; marked ≈).
/// </remarks>
public sealed class Step1Benchmark : IBenchScenario
{
    private const int AutoCalibrationPrompts = 16;

    private static readonly string[] s_quantTypes = ["q8_0", "q4_0", "q4_k_m"];

    private static readonly string[] s_ggufTypes = ["f32", .. s_quantTypes];

    private static int Layers => BenchOptions.Quick ? 2 : 30;

    private static Shape Long => BenchOptions.Quick ? new("(i)", 64, 16, 1) : new("(i)", 750, 250, 1);

    private static Shape Short => BenchOptions.Quick ? new("(ii)", 16, 8, 2) : new("(ii)", 32, 64, 2);

    private static int[] Batches => BenchOptions.Quick ? [1, 4] : [1, 8, 32];

    // The batch the auto calibration and the stage run use: the stage run costs two of its batches.
    private static int TargetBatch => BenchOptions.Quick ? 4 : 8;

    private static int StageItems => 2 * TargetBatch;

    private static int MaxPositions => BenchOptions.Quick ? 128 : 1024;

    private static TimeSpan Budget => BenchOptions.Quick ? TimeSpan.FromMinutes(10) : TimeSpan.FromMinutes(25);

    /// <inheritdoc />
    public string Name => "step1";

    /// <inheritdoc />
    public string Description => "step-1 generation (750 + 250 and 32 + 64 tokens, batch 1/8/32): TorchSharp, LLamaSharp f32/q8_0/q4_0/q4_k_m, PyTorch eager; auto's pick, stage share, float vs PyTorch";

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var threads = get_num_threads();
        var peak = BenchMatmul.PeakGflops();
        var root = Path.Combine(workDirectory, "step1");
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
        try
        {
            await RunInAsync(root, threads, peak, total, output, ct).ConfigureAwait(false);
        }
        finally
        {
            // The checkpoint and its four exports are about 1.3 GB.
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task RunInAsync(string root, int threads, double peak, Stopwatch total, TextWriter output, CancellationToken ct)
    {
        // The model, its GGUF exports (cached beside it, where the stage finds them), the dataset and template.
        QuantLogits.LoadNativeLibrary();
        var lexicon = Step1Fixtures.Lexicon(4000, 3);
        var setup = Stopwatch.StartNew();
        var modelDirectory = Step1Fixtures.CreateRandomModel(Path.Combine(root, "model"), Layers, MaxPositions, 0, lexicon);
        var modelSeconds = setup.Elapsed.TotalSeconds;
        var exports = new Dictionary<string, (GgufExportResult Result, double Seconds)>();
        foreach (var type in s_ggufTypes)
        {
            var clock = Stopwatch.StartNew();
            exports[type] = (GgufExport.ExportCached(modelDirectory, GgufTypes.Parse(type), ct: ct), clock.Elapsed.TotalSeconds);
        }
        var datasetDirectory = Step1Fixtures.CreateDataset(Path.Combine(root, "dataset"), Math.Max(StageItems, Batches[^1]), 2 * Long.PromptTokens, lexicon);
        var templatePath = Path.Combine(root, "template.txt");
        File.WriteAllText(templatePath, "Write search queries for this page.\n\n{text}\n\nQueries:\n");

        var tokenizer = TokenizerLoader.Load(modelDirectory);
        var template = PromptTemplate.Load(templatePath);
        var empty = new PromptItem(0, "empty", new Dictionary<string, string>(StringComparer.Ordinal) { [PromptItems.TextField] = "" });
        var overhead = tokenizer.Encode(new PromptBuilder(template, null, 1, tokenizer).Render(empty), addSpecialTokens: true).Length;
        var stageOptions = new Step1Options
        {
            DatasetDirectory = datasetDirectory,
            ModelDirectory = modelDirectory,
            TemplatePath = templatePath,
            OutputDirectory = Path.Combine(root, "stage"),
            Backend = "auto",
            Device = "cpu",
            BatchSize = TargetBatch,
            MaxNewTokens = Long.NewTokens,
            MaxPromptTokens = Long.PromptTokens - overhead,
            MaxKnownQueries = 0,
            Threads = threads,
            Seed = 1,
            End = StageItems,
            CalibrationPrompts = AutoCalibrationPrompts,
        };
        var items = Step1Stage.LoadItems(stageOptions);
        // Shape (i): the stage's own prompts (template and metadata cut to the budget); shape (ii): the same texts cut to 32 tokens.
        var longBuilder = new PromptBuilder(template, null, stageOptions.MaxPromptTokens, tokenizer);
        var shortBuilder = new PromptBuilder(PromptTemplate.Parse("{text}", "bare"), null, Short.PromptTokens - tokenizer.PrefixIds.Count, tokenizer);
        var prompts = new Dictionary<string, List<string>>
        {
            [Long.Name] = [.. items.Take(Batches[^1]).Select(longBuilder.Render)],
            [Short.Name] = [.. items.Take(Batches[^1]).Select(shortBuilder.Render)],
        };
        setup.Stop();

        var configs = new List<Config> { new("Skim TorchSharp f32", "torch", "float32", true) };
        var bf16 = CpuHasBf16();
        if (bf16)
        {
            configs.Add(new("Skim TorchSharp bf16", "torch", "bfloat16", true));
        }
        configs.AddRange(s_ggufTypes.Select(t => new Config($"Skim LLamaSharp {t}", "llamasharp", t, t == "f32")));
        configs.Add(new("PyTorch 1.13 eager f32", "pytorch", "float32", true));
        if (bf16)
        {
            configs.Add(new("PyTorch 1.13 eager bf16", "pytorch", "bfloat16", true));
        }

        var grid = new Grid();
        var notes = new List<string>();
        var pythonRuns = new List<string>();
        var tunings = new Dictionary<string, BaselineTuning>();
        var first = Batches[..^1];
        var last = Batches[^1];

        // Every configuration: shape (ii) at every batch, shape (i) below the largest batch.
        foreach (var config in configs.Where(c => c.Engine != "pytorch"))
        {
            RunSkim(config, modelDirectory, exports, threads, prompts, [(Short, Batches), (Long, first)], grid, notes, ct);
        }
        foreach (var config in configs.Where(c => c.Engine == "pytorch"))
        {
            var tuning = await BenchPython.TuneAsync("step1_bench.py", ProbeArguments(threads, config.Precision), ct).ConfigureAwait(false);
            tunings[config.Precision] = tuning;
            await RunPythonAsync(config, tuning, Short, Batches, threads, grid, pythonRuns, ct).ConfigureAwait(false);
            await RunPythonAsync(config, tuning, Long, first, threads, grid, pythonRuns, ct).ConfigureAwait(false);
        }

        // Shape (i) at the largest batch, fastest first, while the budget lasts.
        var reserve = TargetsReserve(configs, grid, stageOptions);
        var factor = (double)last / first[^1];
        foreach (var config in configs.Where(c => grid.Find(c, Long, first[^1]) is not null).OrderByDescending(c => grid.Find(c, Long, first[^1])!.GeneratedRate))
        {
            var below = grid.Find(config, Long, first[^1])!;
            var cost = (factor * below.Seconds) + (config.Engine == "pytorch" ? 15 : 5);
            var left = Budget.TotalSeconds - total.Elapsed.TotalSeconds - reserve;
            if (cost > left)
            {
                notes.Add(Invariant($"{config.Name}, shape {Long.Name}, batch {last}: left out to keep the run within {Budget.TotalMinutes:F0} minutes (estimated {cost:F0} s from batch {first[^1]}; {Math.Max(0, left):F0} s were left after reserving {reserve:F0} s for the targets)."));
                continue;
            }
            if (config.Engine == "pytorch")
            {
                await RunPythonAsync(config, tunings[config.Precision], Long, [last], threads, grid, pythonRuns, ct).ConfigureAwait(false);
            }
            else
            {
                RunSkim(config, modelDirectory, exports, threads, prompts, [(Long, [last])], grid, notes, ct, promptRateFrom: below);
            }
        }

        // Targets (a) and (b) run the real step-1 code paths: EngineChoice.Auto's calibration and the stage.
        var autoOptions = stageOptions with { AllowQuant = s_quantTypes };
        var autoClock = Stopwatch.StartNew();
        string autoDescription;
        using (var chosen = EngineChoice.Auto(autoOptions))
        {
            autoDescription = chosen.Description;
        }
        var autoSeconds = autoClock.Elapsed.TotalSeconds;
        var measurements = EngineChoice.LastMeasurements;
        var pickAll = measurements.MaxBy(m => m.TokensPerSecond)!;
        var pickFloat = measurements.Where(m => IsFloat(m)).MaxBy(m => m.TokensPerSecond);

        var stageConfig = ConfigOf(configs, pickAll);
        var runOptions = stageOptions with
        {
            Backend = pickAll.Engine,
            Quant = pickAll.Engine == "llamasharp" ? pickAll.Precision : "f32",
            DType = pickAll.Engine == "torch" ? pickAll.Precision : "float32",
        };
        var stageClock = Stopwatch.StartNew();
        var summary = await ((IStage)new Step1Stage()).RunAsync(runOptions, null, ct).ConfigureAwait(false);
        var stageWall = stageClock.Elapsed.TotalSeconds;

        // The report.
        var parameters = ParameterCount(modelDirectory);
        output.WriteLine(Invariant($"Matmul peak (TorchSharp, 2048×768 · 768×8192 f32, best of 10): {peak:F1} GFLOP/s; {threads} threads for every engine; model: SmolLM-135M shape, {Layers} layers, vocabulary 49,152 (tokenizer {tokenizer.VocabularySize} ids; the other rows and the special tokens' rows zeroed, so no row ends early), {parameters / 1e6:F1} M parameters, random weights; sampling top-k 200, T 0.8. Shape {Long.Name}: {Long.PromptTokens}-token prompts (the stage's template and the item text cut to {stageOptions.MaxPromptTokens} tokens), {Long.NewTokens} new tokens, 1 timed run per row after a warm-up; shape {Short.Name}: {Short.PromptTokens} + {Short.NewTokens} tokens, best of {Short.Rounds}."));
        output.WriteLine(Invariant($"Setup: checkpoint written in {modelSeconds:F1} s; GGUF exports (GgufExport, quantised by llama.cpp's quantizer): {string.Join(", ", exports.Select(e => $"{e.Key} {e.Value.Result.Bytes / 1e6:F0} MB in {e.Value.Seconds:F1} s"))}."));
        output.WriteLine();
        foreach (var (dtype, tuning) in tunings)
        {
            tuning.Write(output, $"PyTorch {dtype} step-1", b => $"probe: batch {b} tokens/s");
        }
        if (!bf16)
        {
            output.WriteLine("bfloat16 rows skipped: this CPU has neither AVX512-BF16 nor AMX-BF16, so both stacks multiply bfloat16 in scalar fallback loops (well under 1 GFLOP/s).");
            output.WriteLine();
        }
        output.WriteLine("| configuration | shape | batch | prompt tok/s | generated tok/s (decode) | generated tok/s (whole run) | prompt + generated tok/s | seconds (prompt pass / whole run) | note |");
        output.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var shape in new[] { Long, Short })
        {
            foreach (var config in configs)
            {
                foreach (var batch in Batches)
                {
                    if (grid.Find(config, shape, batch) is { } row)
                    {
                        output.WriteLine(row.Markdown());
                    }
                }
            }
        }
        output.WriteLine();
        foreach (var note in notes.Concat(pythonRuns))
        {
            output.WriteLine($"- {note}");
        }
        if (notes.Count + pythonRuns.Count > 0)
        {
            output.WriteLine();
        }

        // (a) auto's pick against the fastest measured configuration it could have chosen, at its batch size.
        output.WriteLine(Invariant($"auto's calibration ({autoOptions.CalibrationPrompts} of the stage's prompts, {Math.Min(autoOptions.MaxNewTokens, autoOptions.CalibrationTokens)} new tokens each, batch {TargetBatch}, {autoSeconds:F0} s in all): {autoDescription}."));
        output.WriteLine();
        output.WriteLine("| auto candidate | calibration prompt + generated tok/s | calibration generated tok/s | grid: shape (i), batch " + TargetBatch.ToString(CultureInfo.InvariantCulture) + ", prompt + generated tok/s |");
        output.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var m in measurements)
        {
            var row = ConfigOf(configs, m) is { } c ? grid.Find(c, Long, TargetBatch) : null;
            output.WriteLine(Invariant($"| {m.Engine} {m.Precision} | {m.TokensPerSecond:F1} | {m.GeneratedPerSecond:F1} | {(row is null ? "not measured" : row.TotalRate.ToString("F1", CultureInfo.InvariantCulture))} |"));
        }
        output.WriteLine();
        // The float-only choice is the same rule over the float candidates of the same calibration
        // (running auto again with floats only would measure those two engines a second time).
        WriteAutoTarget(output, "all quantisations allowed", pickAll, configs.Where(c => c.Engine != "pytorch" && c.Precision != "bfloat16"), configs, grid);
        if (pickFloat is not null)
        {
            WriteAutoTarget(output, "floats only (the float candidates of the same calibration)", pickFloat, configs.Where(c => c.Engine != "pytorch" && c.Float && c.Precision != "bfloat16"), configs, grid);
        }

        // (b) the stage end to end against its engine's raw rate.
        var generated = summary["generated_tokens"]!.GetValue<long>();
        var promptTokens = summary["prompt_tokens"]!.GetValue<long>();
        var loopRate = summary["generated_tokens_per_second"]!.GetValue<double>();
        var wallRate = generated / stageWall;
        var raw = stageConfig is null ? null : grid.Find(stageConfig, Long, TargetBatch);
        output.WriteLine();
        output.WriteLine(Invariant($"Step1Stage run: {pickAll.Engine} {pickAll.Precision}, {summary["items"]} items of {promptTokens / (double)StageItems:F0} prompt tokens on average, {generated / (double)StageItems:F0} new tokens each ({summary["finished_by_length"]} finished by length), batch {TargetBatch}: {stageWall:F1} s in all (dataset, prompts, engine load, generation, appends, post-processing, manifests), {generated / loopRate:F1} s in its generation loop."));
        if (raw is null)
        {
            output.WriteLine("Target (b), stage ≥ 85 % of its engine's raw generated-token rate: not measured (the raw row is missing).");
        }
        else
        {
            var share = wallRate / raw.GeneratedRate;
            output.WriteLine(Invariant($"Target (b), stage end to end ≥ 85 % of its configuration's raw generated tokens/s (shape (i), batch {TargetBatch}, {raw.GeneratedRate:F1}): {(share >= 0.85 ? "met" : "NOT met")} — {wallRate:F1} tok/s over the whole call, {100 * share:F0} %; its generation loop alone {loopRate:F1} tok/s, {100 * loopRate / raw.GeneratedRate:F0} %."));
        }

        // (c) the best float configuration against PyTorch eager's, on shape (i), over the batches both ran.
        var pytorchRows = configs.Where(c => c.Engine == "pytorch").SelectMany(c => Batches.Select(b => grid.Find(c, Long, b))).OfType<Row>().ToList();
        var commonBatches = pytorchRows.Select(r => r.Batch).ToHashSet();
        var skimFloat = configs.Where(c => c.Engine != "pytorch" && c.Float).SelectMany(c => Batches.Where(commonBatches.Contains).Select(b => grid.Find(c, Long, b))).OfType<Row>().MaxBy(r => r.GeneratedRate);
        var pytorchBest = pytorchRows.MaxBy(r => r.GeneratedRate);
        output.WriteLine();
        if (skimFloat is null || pytorchBest is null)
        {
            output.WriteLine("Target (c), best float configuration ≥ 1.2× PyTorch eager's best on shape (i): not measured.");
        }
        else
        {
            var ratio = skimFloat.GeneratedRate / pytorchBest.GeneratedRate;
            output.WriteLine(Invariant($"Target (c), best float configuration ≥ 1.2× PyTorch eager's best float configuration on shape (i) (generated tokens/s over the whole run, batches {string.Join("/", commonBatches.Order())}): {(ratio >= 1.2 ? "met" : "NOT met")} — {skimFloat.Config.Name} at batch {skimFloat.Batch} {skimFloat.GeneratedRate:F1} vs {pytorchBest.Config.Name} at batch {pytorchBest.Batch} {pytorchBest.GeneratedRate:F1}: {ratio:F2}×."));
        }
        output.WriteLine();
        output.WriteLine(Invariant($"Setup took {setup.Elapsed.TotalSeconds:F0} s; the whole scenario {total.Elapsed.TotalSeconds:F0} s (budget {Budget.TotalMinutes:F0} minutes)."));
    }

    // Opens one Skim configuration, warms it up, and runs the rows asked for. A row's prompt rate
    // comes from its own one-token run unless promptRateFrom gives the row that stands in for it.
    private static void RunSkim(
        Config config, string modelDirectory, Dictionary<string, (GgufExportResult Result, double Seconds)> exports, int threads,
        Dictionary<string, List<string>> prompts, (Shape Shape, int[] Batches)[] plan, Grid grid, List<string> notes, CancellationToken ct, Row? promptRateFrom = null)
    {
        try
        {
            using IStep1Engine engine = config.Engine == "torch"
                ? new Step1TorchEngine(modelDirectory, config.Precision)
                : new Step1LlamaEngine(exports[config.Precision].Result.Path, threads, ContextSize(Long));
            engine.Run([prompts[Short.Name][0]], 1, 2, ct); // warm-up
            foreach (var (shape, batches) in plan)
            {
                foreach (var batch in batches)
                {
                    var rowPrompts = prompts[shape.Name].Take(batch).ToList();
                    Step1Run? prefill = null, full = null;
                    for (var round = 0; round < shape.Rounds; round++)
                    {
                        if (promptRateFrom is null)
                        {
                            var p = engine.Run(rowPrompts, batch, 1, ct);
                            prefill = prefill is null || p.Seconds < prefill.Seconds ? p : prefill;
                        }
                        var f = engine.Run(rowPrompts, batch, shape.NewTokens, ct);
                        full = full is null || f.Seconds < full.Seconds ? f : full;
                    }
                    var prefillSeconds = prefill?.Seconds ?? full!.PromptTokens / promptRateFrom!.PromptRate;
                    grid.Add(new Row(config, shape, batch, full!.PromptTokens, full.GeneratedTokens, prefillSeconds, full.Seconds, prefill is null ? promptRateFrom!.Batch : null, full.ShortRows, null));
                }
            }
        }
        catch (Exception e) when (e is Skim.Core.SkimException or InvalidOperationException or ExternalException)
        {
            notes.Add($"{config.Name} failed: {e.Message}");
        }
    }

    private static async Task RunPythonAsync(Config config, BaselineTuning tuning, Shape shape, int[] batches, int threads, Grid grid, List<string> ran, CancellationToken ct)
    {
        foreach (var group in batches.GroupBy(b => tuning.NameFor(b.ToString(CultureInfo.InvariantCulture))))
        {
            var json = await BenchPython.RunAsync(
                "step1_bench.py",
                ["--batches", string.Join(",", group), "--prompt-len", Str(shape.PromptTokens), "--new-tokens", Str(shape.NewTokens), "--threads", Str(threads),
                 "--repeats", Str(shape.Rounds), "--dtype", config.Precision, "--layers", Str(Layers)],
                ct,
                tuning.EnvironmentFor(Str(group.First()))).ConfigureAwait(false);
            using var document = JsonDocument.Parse(json);
            var setting = group.Key;
            ran.Add($"{config.Name}, shape {shape.Name}, batch {string.Join(", ", group)} ran with {group.Key}: {BaselineTuning.Describe(document.RootElement.GetProperty("baseline"))}.");
            foreach (var r in document.RootElement.GetProperty("results").EnumerateArray())
            {
                var batch = r.GetProperty("batch").GetInt32();
                grid.Add(new Row(config, shape, batch, (long)batch * shape.PromptTokens, (long)batch * shape.NewTokens,
                    r.GetProperty("prompt_seconds").GetDouble(), r.GetProperty("seconds").GetDouble(), null, 0, setting));
            }
        }
    }

    // What auto's calibration and the stage run will cost, from the rows measured so far: every
    // candidate's calibration (its prompts at the measured prompt rate, its new tokens at the decode
    // rate of the target batch, a warm-up and a load) and two batches of the likely pick.
    private static double TargetsReserve(List<Config> configs, Grid grid, Step1Options options)
    {
        var rows = configs.Where(c => c.Engine != "pytorch" && c.Precision != "bfloat16").Select(c => grid.Find(c, Long, TargetBatch)).OfType<Row>().ToList();
        if (rows.Count == 0)
        {
            return 60;
        }
        var calibration = rows.Sum(r =>
            ((options.CalibrationPrompts + 1) * Long.PromptTokens / r.PromptRate)
            + ((double)options.CalibrationPrompts / TargetBatch * Math.Min(options.CalibrationTokens, Long.NewTokens) * TargetBatch / Math.Max(r.DecodeRate, 1e-3))
            + 5);
        var stage = (StageItems / TargetBatch * rows.MaxBy(r => r.TotalRate)!.Seconds) + 20;
        return 1.2 * (calibration + stage);
    }

    private static void WriteAutoTarget(TextWriter output, string label, EngineMeasurement pick, IEnumerable<Config> allowed, List<Config> configs, Grid grid)
    {
        var rows = allowed.Select(c => grid.Find(c, Long, TargetBatch)).OfType<Row>().ToList();
        var fastest = rows.MaxBy(r => r.TotalRate);
        var picked = ConfigOf(configs, pick) is { } c ? grid.Find(c, Long, TargetBatch) : null;
        var overall = allowed.SelectMany(c => Batches.Select(b => grid.Find(c, Long, b))).OfType<Row>().MaxBy(r => r.TotalRate);
        if (fastest is null || picked is null)
        {
            output.WriteLine($"Target (a), {label}: auto picked {pick.Engine} {pick.Precision}; not comparable (the grid lacks shape (i) rows at batch {TargetBatch}).");
            return;
        }
        var share = picked.TotalRate / fastest.TotalRate;
        output.WriteLine(Invariant($"Target (a), {label}: auto picked {pick.Engine} {pick.Precision}, the fastest measured at shape (i), batch {TargetBatch} is {fastest.Config.Name} ({fastest.TotalRate:F1} prompt + generated tok/s, {fastest.GeneratedRate:F1} generated): {(share >= 0.95 ? "met" : "NOT met")} — the pick runs at {picked.TotalRate:F1} ({100 * share:F0} % of the fastest; met means within 5 %). Fastest allowed at any batch: {overall!.Config.Name} at batch {overall.Batch}, {overall.TotalRate:F1} (auto does not choose the batch size)."));
    }

    private static Config? ConfigOf(List<Config> configs, EngineMeasurement m) =>
        configs.FirstOrDefault(c => c.Engine == m.Engine && string.Equals(c.Precision, m.Precision, StringComparison.OrdinalIgnoreCase));

    private static bool IsFloat(EngineMeasurement m) => m.Engine == "torch" || m.Precision is "f32" or "f16";

    private static string[] ProbeArguments(int threads, string dtype) =>
        ["--batches", string.Join(",", Batches), "--prompt-len", BenchOptions.Quick ? "16" : "96", "--new-tokens", BenchOptions.Quick ? "4" : "16",
         "--threads", Str(threads), "--repeats", "1", "--dtype", dtype, "--layers", Str(Layers)];

    // Cells one sequence may hold: shape (i)'s prompt and new tokens, rounded up as llama.cpp rounds them.
    private static int ContextSize(Shape shape) => (shape.PromptTokens + shape.NewTokens + 8 + 255) / 256 * 256;

    private static long ParameterCount(string modelDirectory)
    {
        var config = Skim.Models.Llama.LlamaConfig.Read(Path.Combine(modelDirectory, "config.json"));
        long h = config.HiddenSize, i = config.IntermediateSize, kv = (config.NumKeyValueHeads ?? config.NumAttentionHeads) * (config.HiddenSize / config.NumAttentionHeads);
        return (config.VocabSize * h) + (config.NumHiddenLayers * ((2 * h * h) + (2 * h * kv) + (3 * h * i) + (2 * h))) + h;
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

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Shape(string Name, int PromptTokens, int NewTokens, int Rounds);

    private sealed record Config(string Name, string Engine, string Precision, bool Float);

    // One (configuration, shape, batch) measurement. The first new token of each row belongs to the
    // prompt pass; decode is the rest.
    private sealed record Row(Config Config, Shape Shape, int Batch, long PromptTokens, long GeneratedTokens, double PrefillSeconds, double Seconds, int? PromptRateFromBatch, int ShortRows, string? Setting)
    {
        public double PromptRate => PromptTokens / PrefillSeconds;

        public double DecodeRate => Seconds > PrefillSeconds ? (GeneratedTokens - Batch) / (Seconds - PrefillSeconds) : double.NaN;

        public double GeneratedRate => GeneratedTokens / Seconds;

        public double TotalRate => (PromptTokens + GeneratedTokens) / Seconds;

        public string Markdown()
        {
            var approx = PromptRateFromBatch is null ? "" : "≈";
            var notes = new List<string>();
            if (PromptRateFromBatch is { } from)
            {
                notes.Add(Invariant($"prompt pass not rerun: batch {from}'s prompt rate"));
            }
            if (ShortRows > 0)
            {
                notes.Add(Invariant($"{ShortRows} rows ended early"));
            }
            if (Setting is not null)
            {
                notes.Add(Setting.Replace('|', '/'));
            }
            var decode = double.IsNaN(DecodeRate) ? "–" : approx + DecodeRate.ToString("F1", CultureInfo.InvariantCulture);
            return Invariant($"| {Config.Name} | {Shape.Name} {Shape.PromptTokens} + {Shape.NewTokens} | {Batch} | {approx}{PromptRate:F1} | {decode} | {GeneratedRate:F1} | {TotalRate:F1} | {approx}{PrefillSeconds:F1} / {Seconds:F1} | {string.Join("; ", notes)} |");
        }
    }

    private sealed class Grid
    {
        private readonly Dictionary<(string Config, string Shape, int Batch), Row> _rows = [];

        public void Add(Row row) => _rows[(row.Config.Name, row.Shape.Name, row.Batch)] = row;

        public Row? Find(Config config, Shape shape, int batch) => _rows.GetValueOrDefault((config.Name, shape.Name, batch));
    }
}
