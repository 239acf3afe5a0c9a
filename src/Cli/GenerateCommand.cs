using System.CommandLine;
using System.Globalization;
using Skim.Generate.Runs;
using Skim.Generate.Sharding;
using Skim.Models.Devices;
using Skim.Models.Generation;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim generate</c>: continues the prompts of a JSONL file with a local Llama-family model
/// (batched, left-padded sampling with a KV cache) and writes one JSON line per prompt.
/// </summary>
public static class GenerateCommand
{
    /// <summary>Builds the <c>generate</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var defaults = new GenerationOptions();
        var model = new Option<string>("--model", "-m") { Description = "Hugging Face checkpoint folder (config.json, weights, tokenizer files).", Required = true };
        var prompts = new Option<string>("--prompts", "-p") { Description = "JSONL file: one JSON string, or object with a \"prompt\" member, per line.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "JSONL output: index, prompt, text, token counts and finish reason per prompt.", Required = true };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Most tokens generated per prompt.", DefaultValueFactory = _ => defaults.MaxNewTokens };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 decodes greedily.", DefaultValueFactory = _ => defaults.Temperature };
        var topK = new Option<int>("--top-k") { Description = "Keep only the k most likely tokens; 0 keeps all.", DefaultValueFactory = _ => defaults.TopK };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass; 1 turns it off.", DefaultValueFactory = _ => defaults.TopP };
        var seed = new Option<long>("--seed") { Description = "Sampling seed: the same seed and inputs give the same outputs.", DefaultValueFactory = _ => defaults.Seed };
        var stop = new Option<string[]>("--stop") { Description = "Stop string (repeatable); the text is cut before it.", AllowMultipleArgumentsPerToken = false };
        var batchSize = new Option<int>("--batch-size") { Description = "Prompts decoded together.", DefaultValueFactory = _ => defaults.BatchSize };
        var prefill = new Option<string>("--prefill") { Description = "How a batch's prompts are run: batched (left-padded, one pass) or per-row (one pass per prompt into the batch's cache).", DefaultValueFactory = _ => "batched" };
        prefill.AcceptOnlyFromAmong("batched", "per-row");
        var device = new Option<string>("--device") { Description = $"Device: {TorchDevices.DeviceChoices}.", DefaultValueFactory = _ => "auto" };
        var dtype = new Option<string>("--dtype") { Description = $"Weight dtype: {TorchDevices.DTypeChoices}.", DefaultValueFactory = _ => "float32" };
        var shard = new Option<string>("--shard") { Description = "Generate only shard K of N of the prompts (0-based K/N; records keep their global index).", DefaultValueFactory = _ => "0/1" };
        var command = new Command("generate", "Continue prompts with a local Llama, Mistral, Qwen2 or SmolLM checkpoint.")
        {
            model, prompts, output, maxNewTokens, temperature, topK, topP, seed, stop, batchSize, prefill, device, dtype, shard,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new GenerationRunOptions
            {
                ModelDirectory = parseResult.GetValue(model)!,
                PromptsPath = parseResult.GetValue(prompts)!,
                OutputPath = parseResult.GetValue(output)!,
                Generation = new GenerationOptions
                {
                    MaxNewTokens = parseResult.GetValue(maxNewTokens),
                    Temperature = parseResult.GetValue(temperature),
                    TopK = parseResult.GetValue(topK),
                    TopP = parseResult.GetValue(topP),
                    Seed = parseResult.GetValue(seed),
                    StopStrings = parseResult.GetValue(stop) ?? [],
                    BatchSize = parseResult.GetValue(batchSize),
                    Prefill = parseResult.GetValue(prefill) == "per-row" ? PrefillMode.PerRow : PrefillMode.Batched,
                },
                Device = parseResult.GetValue(device)!,
                DType = parseResult.GetValue(dtype)!,
                Shard = ShardSpec.Parse(parseResult.GetValue(shard)!),
            };
            await RunAsync(console, options, cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static async Task RunAsync(IAnsiConsole console, GenerationRunOptions options, CancellationToken ct)
    {
        options.Validate();
        var done = await ProgressDisplay.RunAsync<GenerationRunProgress, GenerationRunResult>(
            console,
            "generating",
            "prompts",
            p => (p.PromptsDone, p.PromptsTotal),
            progress => GenerationRun.RunAsync(options, progress, ct),
            r => r.Prompts).ConfigureAwait(false);
        var table = new Table().AddColumns("", "");
        table.HideHeaders();
        table.AddRow("model", Markup.Escape(done.Model));
        table.AddRow("prompts", options.Shard.Count == 1
            ? done.Prompts.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{done.Prompts} (shard {options.Shard}: from prompt {done.FirstPrompt})"));
        table.AddRow("generated tokens", done.GeneratedTokens.ToString(CultureInfo.InvariantCulture));
        table.AddRow("time", $"{done.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s ({done.TokensPerSecond.ToString("F1", CultureInfo.InvariantCulture)} tokens/s)");
        table.AddRow("output", Markup.Escape(done.OutputPath));
        console.Write(table);
    }
}
