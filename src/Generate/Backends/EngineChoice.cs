using System.Diagnostics;
using System.Globalization;
using Skim.Core;
using Skim.Core.Formats.HfConfig;
using Skim.Distill.Items;
using Skim.Distill.Prompts;
using Skim.Generate.Gguf;
using Skim.Generate.Step1;
using Skim.Models.Tokenization;

namespace Skim.Generate.Backends;

/// <summary>One engine configuration <c>auto</c> measured.</summary>
/// <param name="Engine">"torch" or "llamasharp".</param>
/// <param name="Precision">The torch dtype or the GGUF type.</param>
/// <param name="TokensPerSecond">Prompt plus generated tokens per second on the calibration prompts.</param>
/// <param name="GeneratedPerSecond">Generated tokens per second on the calibration prompts.</param>
public sealed record EngineMeasurement(string Engine, string Precision, double TokensPerSecond, double GeneratedPerSecond);

/// <summary>
/// The step-1 engines <c>llamasharp</c> (llama.cpp over a GGUF export of the checkpoint) and
/// <c>auto</c>, which generates a few of the run's own prompts
/// with every allowed configuration — torch in the run's dtype, llama.cpp f32, and the quantised
/// types the user allows — and keeps the fastest. Neither engine wins everywhere (llama.cpp at small
/// batches and 4-bit weights, torch bf16 at large batches), so the choice is measured on the actual
/// model, prompts and machine.
/// </summary>
public static class EngineChoice
{
    /// <summary>Gets the measurements of the last <c>auto</c> choice in this process (for manifests and the screen).</summary>
    public static IReadOnlyList<EngineMeasurement> LastMeasurements { get; private set; } = [];

    /// <summary>Makes the llamasharp engine for <paramref name="options"/> with GGUF type <paramref name="quant"/> (exported once, cached next to the checkpoint).</summary>
    public static IGenerationBackend LlamaSharp(Step1Options options, string quant)
    {
        ArgumentNullException.ThrowIfNull(options);
        _ = GgufTypes.Parse(quant, "quant");
        return new LlamaSharpBackend(new LlamaSharpBackendOptions
        {
            ModelDirectory = options.ModelDirectory,
            Quant = quant,
            Threads = options.Threads,
            BatchSize = options.BatchSize,
            ContextSize = ContextSize(options.ModelDirectory),
            MaxNewTokens = options.MaxNewTokens,
            Temperature = options.Temperature,
            TopK = options.TopK,
            TopP = options.TopP,
            StopStrings = options.StopStrings,
            Seed = options.Seed,
        });
    }

    /// <summary>Measures every allowed configuration on the run's first prompts and returns the fastest engine, made for the full run.</summary>
    public static IGenerationBackend Auto(Step1Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var requests = CalibrationRequests(options);
        var candidates = new List<(string Engine, string Precision, Func<Step1Options, IGenerationBackend> Make)>
        {
            ("torch", options.DType, o => TorchGenerationBackend.FromStep1Options(o)),
            ("llamasharp", "f32", o => LlamaSharp(o, "f32")),
        };
        candidates.AddRange(options.AllowQuant.Select(q => ("llamasharp", q, (Func<Step1Options, IGenerationBackend>)(o => LlamaSharp(o, q)))));
        var calibration = options with { MaxNewTokens = Math.Min(options.MaxNewTokens, options.CalibrationTokens) };
        var measured = new List<(EngineMeasurement Measurement, Func<Step1Options, IGenerationBackend> Make)>();
        var refused = new List<string>();
        foreach (var (engine, precision, make) in candidates)
        {
            try
            {
                using var backend = make(calibration);
                // One small warm-up batch: first calls pay for lazy initialisation, not for decoding.
                backend.GenerateAsync(requests.Take(1).ToList(), CancellationToken.None).GetAwaiter().GetResult();
                var clock = Stopwatch.StartNew();
                var outputs = backend.GenerateAsync(requests, CancellationToken.None).GetAwaiter().GetResult();
                var seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-6);
                var generated = outputs.Sum(o => (long)o.GeneratedTokens);
                var all = generated + outputs.Sum(o => (long)o.PromptTokens);
                measured.Add((new EngineMeasurement(engine, precision, all / seconds, generated / seconds), make));
            }
            catch (SkimException e)
            {
                // An engine that cannot run this model or these prompts (a GGUF type the widths rule
                // out, a prompt longer than llama.cpp's context) is left out of the choice, not fatal.
                refused.Add($"{engine} {precision}: {e.Message}");
            }
        }
        LastMeasurements = [.. measured.Select(m => m.Measurement)];
        if (measured.Count == 0)
        {
            throw new SkimConfigException($"backend auto: no engine could run: {string.Join("; ", refused)}");
        }
        // Step-1 spends its time on both prompts and new tokens, so the whole rate decides.
        var best = measured.MaxBy(m => m.Measurement.TokensPerSecond);
        return new ChosenBackend(best.Make(options), best.Measurement, LastMeasurements);
    }

    private static List<BackendRequest> CalibrationRequests(Step1Options options)
    {
        var items = Step1Stage.LoadItems(options);
        var template = PromptTemplate.Load(options.TemplatePath);
        var tokenizer = TokenizerLoader.Load(options.ModelDirectory);
        var prompts = new PromptBuilder(template, options.Fields, options.MaxPromptTokens, tokenizer);
        var count = Math.Min(Math.Max(1, options.CalibrationPrompts), items.Count);
        if (count == 0)
        {
            throw new SkimDataException(options.DatasetDirectory, null, "no items to calibrate the engines on");
        }
        // Evenly spread over the items, so that the prompts' lengths are typical of the run.
        return [.. Enumerable.Range(0, count).Select(i => (long)i * items.Count / count)
            .Select(item => new BackendRequest(item, prompts.Render(items[(int)item]), Step1Seeds.ForItem(options.Seed, item)))];
    }

    // Each sequence's context: the model's own length (prompt plus new tokens must fit in it anyway).
    private static int ContextSize(string modelDirectory)
    {
        var positions = HfConfigFile.Read(Path.Combine(modelDirectory, HfConfigFile.FileName)).GetInt32("max_position_embeddings", 2048);
        return Math.Clamp(positions, 256, 8192);
    }

    /// <summary>The engine <c>auto</c> chose, describing the choice and what it was measured against.</summary>
    private sealed class ChosenBackend(IGenerationBackend inner, EngineMeasurement chosen, IReadOnlyList<EngineMeasurement> all) : IGenerationBackend
    {
        public string Description { get; } = string.Create(CultureInfo.InvariantCulture,
            $"auto: {inner.Description} ({chosen.TokensPerSecond:F0} tok/s; measured {string.Join(", ", all.Select(m => $"{m.Engine} {m.Precision} {m.TokensPerSecond:F0}"))})");

        public Task<IReadOnlyList<BackendOutput>> GenerateAsync(IReadOnlyList<BackendRequest> batch, CancellationToken ct) => inner.GenerateAsync(batch, ct);

        public void Dispose() => inner.Dispose();
    }
}
