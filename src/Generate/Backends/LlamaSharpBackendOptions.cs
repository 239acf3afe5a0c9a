using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Skim.Core;
using Skim.Generate.Gguf;

namespace Skim.Generate.Backends;

/// <summary>Settings of <see cref="LlamaSharpBackend"/>: the model, the hardware use and the sampling.</summary>
public sealed record LlamaSharpBackendOptions
{
    /// <summary>Gets a GGUF file to load; exactly one of this and <see cref="ModelDirectory"/> is set. Defaults to none.</summary>
    public string? GgufPath { get; init; }

    /// <summary>
    /// Gets an HF checkpoint folder, exported once to GGUF of type <see cref="Quant"/> and cached
    /// beside it (<see cref="GgufExport.ExportCached"/>). Defaults to none.
    /// </summary>
    public string? ModelDirectory { get; init; }

    /// <summary>Gets the weight type exported from <see cref="ModelDirectory"/>: f32, f16, q8_0, q4_0 or q4_k_m. Defaults to "f32".</summary>
    public string Quant { get; init; } = "f32";

    /// <summary>Gets the threads llama.cpp computes with. Defaults to 0: one per processor.</summary>
    public int Threads { get; init; }

    /// <summary>Gets how many sequences are decoded together (each with its own KV cache). Defaults to 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Gets the tokens one sequence may hold (prompt plus generated); generation stops at it with "length". Defaults to 1024.</summary>
    public int ContextSize { get; init; } = 1024;

    /// <summary>Gets the most tokens one decode call takes (prompt tokens of several sequences share it). Defaults to 512.</summary>
    public int DecodeTokens { get; init; } = 512;

    /// <summary>Gets the most tokens generated per prompt. Defaults to 250.</summary>
    public int MaxNewTokens { get; init; } = 250;

    /// <summary>Gets the sampling temperature; 0 means greedy. Defaults to 0.8.</summary>
    public double Temperature { get; init; } = 0.8;

    /// <summary>Gets how many of the most likely tokens are sampled from; 0 keeps all. Defaults to 200.</summary>
    public int TopK { get; init; } = 200;

    /// <summary>Gets the nucleus-sampling mass; 1 keeps all. Defaults to 1.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Gets texts that end a continuation (excluded from the text). Defaults to none.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Gets a number mixed into every item's seed, so that a whole run can be re-drawn. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the layers offloaded to a GPU when a GPU build of llama.cpp is in use (-1: all). Defaults to -1.</summary>
    public int GpuLayers { get; init; } = -1;

    /// <summary>Gets where llama.cpp's log lines go; null silences them. Defaults to none.</summary>
    [JsonIgnore]
    public ILogger? Logger { get; init; }

    /// <summary>Gets whether EOS is ignored (generation runs to the token limit); for parity checks only.</summary>
    internal bool IgnoreEos { get; init; }

    /// <summary>Checks the values, naming the offending option in a <see cref="SkimConfigException"/>.</summary>
    public void Validate()
    {
        if ((GgufPath is null) == (ModelDirectory is null))
        {
            throw new SkimConfigException("llamasharp: expected exactly one of a GGUF file (--gguf) and a model folder (--model)");
        }
        GgufTypes.Parse(Quant, "--quant");
        Check(Threads >= 0, "--threads", Threads, "a non-negative integer (0: one per processor)");
        Check(BatchSize is >= 1 and <= 256, "--batch-size", BatchSize, "an integer in 1..256");
        Check(ContextSize >= 8, "--context-size", ContextSize, "an integer of at least 8");
        Check(DecodeTokens >= BatchSize, "--decode-tokens", DecodeTokens, $"at least --batch-size ({BatchSize})");
        Check(MaxNewTokens >= 1, "--max-new-tokens", MaxNewTokens, "a positive integer");
        Check(Temperature >= 0 && double.IsFinite(Temperature), "--temperature", Temperature, "a non-negative number");
        Check(TopK >= 0, "--top-k", TopK, "a non-negative integer");
        Check(TopP is > 0 and <= 1, "--top-p", TopP, "a number in (0, 1]");
        if (StopStrings.Any(string.IsNullOrEmpty))
        {
            throw new SkimConfigException("--stop: stop strings must not be empty");
        }
    }

    private static void Check(bool ok, string option, object value, string expected)
    {
        if (!ok)
        {
            throw new SkimConfigException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{option} {value}: expected {expected}"));
        }
    }
}
