using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.IO;
using Skim.Models.Devices;
using Skim.Models.Generation;
using Skim.Models.Llama;
using Skim.Models.Tokenization;
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
        var device = new Option<string>("--device") { Description = $"Device: {TorchDevices.DeviceChoices}.", DefaultValueFactory = _ => "auto" };
        var dtype = new Option<string>("--dtype") { Description = $"Weight dtype: {TorchDevices.DTypeChoices}.", DefaultValueFactory = _ => "float32" };
        var command = new Command("generate", "Continue prompts with a local Llama, Mistral, Qwen2 or SmolLM checkpoint.")
        {
            model, prompts, output, maxNewTokens, temperature, topK, topP, seed, stop, batchSize, device, dtype,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new GenerationOptions
            {
                MaxNewTokens = parseResult.GetValue(maxNewTokens),
                Temperature = parseResult.GetValue(temperature),
                TopK = parseResult.GetValue(topK),
                TopP = parseResult.GetValue(topP),
                Seed = parseResult.GetValue(seed),
                StopStrings = parseResult.GetValue(stop) ?? [],
                BatchSize = parseResult.GetValue(batchSize),
            };
            options.Validate();
            await RunAsync(
                console,
                parseResult.GetValue(model)!,
                parseResult.GetValue(prompts)!,
                parseResult.GetValue(output)!,
                options,
                TorchDevices.ParseDevice(parseResult.GetValue(device)!),
                TorchDevices.ParseDType(parseResult.GetValue(dtype)!),
                cancellationToken).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>Reads prompts from a JSONL file: each line a JSON string or an object with a string member "prompt".</summary>
    internal static List<string> ReadPrompts(string path)
    {
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "no such prompts file");
        }
        var prompts = new List<string>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(line);
            }
            catch (JsonException e)
            {
                throw new SkimFormatException(path, $"line {lineNumber}", $"not valid JSON: {e.Message.Split('\n')[0]}");
            }
            var prompt = node switch
            {
                JsonValue value when value.TryGetValue<string>(out var text) => text,
                JsonObject obj when obj["prompt"] is JsonValue member && member.TryGetValue<string>(out var text) => text,
                _ => throw new SkimFormatException(path, $"line {lineNumber}", "expected a JSON string or an object with a string member \"prompt\""),
            };
            prompts.Add(prompt);
        }
        return prompts;
    }

    private static async Task RunAsync(IAnsiConsole console, string modelDir, string promptsPath, string outputPath, GenerationOptions options, TorchSharp.torch.Device device, TorchSharp.torch.ScalarType dtype, CancellationToken ct)
    {
        var prompts = ReadPrompts(promptsPath);
        var tokenizer = TokenizerLoader.Load(modelDir);
        using var model = LlamaForCausalLM.FromPretrained(modelDir, dtype, device);
        var generator = new LlamaGenerator(model, tokenizer);
        long generated = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // One stream committed at the end: a crash or Ctrl+C leaves no partial gens.jsonl.
        await using var stream = AtomicFileStream.Create(outputPath);
        await using (var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true))
        {
            await console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask("generating", autoStart: true, maxValue: Math.Max(1, prompts.Count));
                    await foreach (var batch in generator.GenerateAsync(prompts, options, ct).ConfigureAwait(false))
                    {
                        foreach (var sequence in batch)
                        {
                            var line = new JsonObject
                            {
                                ["index"] = sequence.Index,
                                ["prompt"] = prompts[sequence.Index],
                                ["text"] = sequence.Text,
                                ["prompt_tokens"] = sequence.PromptTokenCount,
                                ["generated_tokens"] = sequence.GeneratedTokenCount,
                                ["finish_reason"] = sequence.Finish.ToString().ToLowerInvariant(),
                            };
                            await writer.WriteLineAsync(line.ToJsonString().AsMemory(), ct).ConfigureAwait(false);
                            generated += sequence.GeneratedTokenCount;
                        }
                        task.Increment(batch.Count);
                    }
                }).ConfigureAwait(false);
        }
        stream.Commit();

        var seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        var table = new Table().AddColumns("", "");
        table.HideHeaders();
        table.AddRow("model", Markup.Escape($"{model.Config.ModelType}, {model.Config.NumHiddenLayers} layers, {TorchDevices.DTypeName(dtype)} on {device}"));
        table.AddRow("prompts", prompts.Count.ToString(CultureInfo.InvariantCulture));
        table.AddRow("generated tokens", generated.ToString(CultureInfo.InvariantCulture));
        table.AddRow("time", $"{seconds.ToString("F1", CultureInfo.InvariantCulture)} s ({(generated / seconds).ToString("F1", CultureInfo.InvariantCulture)} tokens/s)");
        table.AddRow("output", Markup.Escape(outputPath));
        console.Write(table);
    }
}
