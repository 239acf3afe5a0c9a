using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Skim.Core.IO;
using Skim.Models.Devices;
using Skim.Models.Generation;
using Skim.Models.Llama;
using Skim.Models.Tokenization;

namespace Skim.Generate.Runs;

/// <summary>
/// Continues the prompts of a JSONL file with a local Llama-family checkpoint (the TorchSharp
/// engine: batched, left-padded sampling with a KV cache) and writes one <see cref="GenerationRecord"/>
/// per prompt. The output is committed once at the end, so a crash or cancellation leaves no partial
/// file. This is what <c>skim generate</c> runs, and the torch engine step-1 builds on.
/// </summary>
public static class GenerationRun
{
    /// <summary>Runs the generation described by <paramref name="options"/>.</summary>
    /// <exception cref="Skim.Core.SkimConfigException">An option is out of range.</exception>
    /// <exception cref="Skim.Core.SkimFormatException">The prompts file or the checkpoint is malformed or missing.</exception>
    public static async Task<GenerationRunResult> RunAsync(GenerationRunOptions options, IProgress<GenerationRunProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        var device = TorchDevices.ParseDevice(options.Device);
        var dtype = TorchDevices.ParseDType(options.DType);
        var all = PromptFile.Read(options.PromptsPath);
        var range = options.Shard.Range(all.Count);
        var prompts = all.GetRange((int)range.Start, (int)range.Length);
        var tokenizer = TokenizerLoader.Load(options.ModelDirectory);
        using var model = LlamaForCausalLM.FromPretrained(options.ModelDirectory, device, dtype);
        var generator = new LlamaGenerator(model, tokenizer);

        long generated = 0;
        var done = 0;
        progress?.Report(new GenerationRunProgress(0, prompts.Count, 0));
        await using var stream = AtomicFileStream.Create(options.OutputPath);
        await using (var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true))
        {
            await foreach (var batch in generator.GenerateAsync(prompts, options.Generation, ct).ConfigureAwait(false))
            {
                foreach (var sequence in batch)
                {
                    var record = GenerationRecord.From(sequence, prompts[sequence.Index], (int)range.Start);
                    await writer.WriteLineAsync(JsonSerializer.Serialize(record).AsMemory(), ct).ConfigureAwait(false);
                    generated += sequence.GeneratedTokenCount;
                }
                done += batch.Count;
                progress?.Report(new GenerationRunProgress(done, prompts.Count, generated));
            }
        }
        stream.Commit();
        var description = $"{model.Config.ModelType}, {model.Config.NumHiddenLayers} layers, {TorchDevices.DTypeName(dtype)} on {device}";
        return new GenerationRunResult(description, prompts.Count, range.Start, generated, clock.Elapsed, options.OutputPath);
    }
}
