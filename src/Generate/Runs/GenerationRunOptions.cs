using Skim.Core;
using Skim.Generate.Sharding;
using Skim.Models.Generation;

namespace Skim.Generate.Runs;

/// <summary>What <see cref="GenerationRun.RunAsync"/> generates: a checkpoint, a prompts file, an output file and how to sample.</summary>
public sealed record GenerationRunOptions
{
    /// <summary>Gets the Hugging Face checkpoint folder (config.json, weights, tokenizer files). Required.</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>Gets the prompts file (see <see cref="PromptFile"/>). Required.</summary>
    public required string PromptsPath { get; init; }

    /// <summary>Gets the JSONL output, one <see cref="GenerationRecord"/> per prompt, written atomically. Required.</summary>
    public required string OutputPath { get; init; }

    /// <summary>Gets the sampling, length, stop and batching settings. Defaults to <see cref="GenerationOptions"/>' defaults.</summary>
    public GenerationOptions Generation { get; init; } = new();

    /// <summary>Gets the device: <c>auto|cpu|cuda|cuda:N</c>. Defaults to auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Gets the weight dtype: <c>float32|bfloat16|float16</c>. Defaults to float32.</summary>
    public string DType { get; init; } = "float32";

    /// <summary>Gets the shard of the prompts this run generates (a contiguous, balanced range; records keep their global index). Defaults to all prompts.</summary>
    public ShardSpec Shard { get; init; } = ShardSpec.All;

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the option when a value is out of range.</summary>
    public void Validate()
    {
        Generation.Validate();
        if (string.IsNullOrWhiteSpace(ModelDirectory))
        {
            throw new SkimConfigException("model: expected a checkpoint folder, found an empty value");
        }
        if (string.IsNullOrWhiteSpace(OutputPath))
        {
            throw new SkimConfigException("out: expected an output file, found an empty value");
        }
    }
}

/// <summary>How far a generation run is: prompts finished of this run's total, and tokens generated so far.</summary>
/// <param name="PromptsDone">Prompts whose continuation is written.</param>
/// <param name="PromptsTotal">Prompts in this run (this shard's).</param>
/// <param name="GeneratedTokens">Tokens generated so far.</param>
public readonly record struct GenerationRunProgress(int PromptsDone, int PromptsTotal, long GeneratedTokens);

/// <summary>What a generation run did.</summary>
/// <param name="Model">The model, in words (type, layers, dtype, device).</param>
/// <param name="Prompts">Prompts generated for.</param>
/// <param name="FirstPrompt">The global index of this run's first prompt (non-zero for later shards).</param>
/// <param name="GeneratedTokens">Tokens generated in all.</param>
/// <param name="Elapsed">Wall time, model loading included.</param>
/// <param name="OutputPath">The JSONL file written.</param>
public sealed record GenerationRunResult(string Model, int Prompts, long FirstPrompt, long GeneratedTokens, TimeSpan Elapsed, string OutputPath)
{
    /// <summary>Gets the generated tokens per second of wall time.</summary>
    public double TokensPerSecond => GeneratedTokens / Math.Max(Elapsed.TotalSeconds, 1e-9);
}
