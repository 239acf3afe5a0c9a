using Skim.Core;

namespace Skim.Models.Generation;

/// <summary>How <see cref="LlamaGenerator"/> continues prompts: sampling, lengths, stop conditions and batching.</summary>
public sealed record GenerationOptions
{
    /// <summary>Gets the most tokens generated per prompt. Defaults to 256.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Gets the softmax temperature; 0 means greedy decoding (argmax, no randomness). Defaults to 1.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Gets the number of most likely tokens sampling keeps; 0 keeps all. Defaults to 0.</summary>
    public int TopK { get; init; }

    /// <summary>Gets the nucleus mass: sampling keeps the most likely tokens whose probabilities sum to at least this. Defaults to 1 (off).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Gets the seed of the sampling generator; the same seed, prompts and options give the same samples. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets texts that end a sequence when they appear in its generated text (the text is cut before them). Defaults to none.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Gets the ids that end a sequence; null takes the model config's eos_token_id. Defaults to null.</summary>
    public IReadOnlyList<int>? EosTokenIds { get; init; }

    /// <summary>Gets the id placed in left padding; null takes the config's pad id, else its first EOS id, else 0. Defaults to null.</summary>
    public int? PadTokenId { get; init; }

    /// <summary>Gets the number of prompts decoded together. Defaults to 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Gets how a batch's prompts are run before decoding. Defaults to <see cref="PrefillMode.Batched"/>.</summary>
    public PrefillMode Prefill { get; init; } = PrefillMode.Batched;

    /// <summary>Gets whether <see cref="Temperature"/> selects greedy decoding.</summary>
    public bool IsGreedy => Temperature == 0;

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the option when a value is out of range.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 1)
        {
            throw new SkimConfigException($"max_new_tokens: expected a positive integer, found {MaxNewTokens}");
        }
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
        {
            throw new SkimConfigException($"temperature: expected a finite number >= 0, found {Temperature}");
        }
        if (TopK < 0)
        {
            throw new SkimConfigException($"top_k: expected 0 (off) or a positive integer, found {TopK}");
        }
        if (!(TopP > 0 && TopP <= 1))
        {
            throw new SkimConfigException($"top_p: expected a number in (0, 1], found {TopP}");
        }
        if (BatchSize < 1)
        {
            throw new SkimConfigException($"batch_size: expected a positive integer, found {BatchSize}");
        }
        if (StopStrings.Any(string.IsNullOrEmpty))
        {
            throw new SkimConfigException("stop: expected non-empty stop strings, found an empty one");
        }
    }
}

/// <summary>How <see cref="LlamaGenerator"/> runs a batch's prompts before decoding them together.</summary>
/// <remarks>
/// On the CPU both prefill at the same rate at SKIM's 750-token prompts (batch 8, 535 prompt tokens/s
/// each); with 30-token prompts one pass per prompt halves the prefill rate but ran the whole batch-8
/// generation 14 % faster and the batch-32 one 12 % slower (bench/README.md, prefill), so batched
/// stays the default.
/// </remarks>
public enum PrefillMode
{
    /// <summary>One pass over the left-padded batch, attention masked.</summary>
    Batched,

    /// <summary>One pass per prompt, without padding (causal attention), into the batch's KV cache.</summary>
    PerRow,
}

/// <summary>Why a sequence stopped.</summary>
public enum FinishReason
{
    /// <summary>It produced an end-of-sequence id.</summary>
    Eos,

    /// <summary>Its text came to contain a stop string.</summary>
    StopString,

    /// <summary>It reached <see cref="GenerationOptions.MaxNewTokens"/>.</summary>
    Length,
}

/// <summary>One prompt's continuation.</summary>
/// <param name="Index">The prompt's position in the input, counted from 0 over all batches.</param>
/// <param name="PromptTokenCount">The number of prompt ids (padding excluded).</param>
/// <param name="TokenIds">The generated ids, including the EOS id or the tokens that completed a stop string.</param>
/// <param name="Text">The decoded continuation (special tokens dropped, cut before a stop string), or null without a tokenizer.</param>
/// <param name="Finish">Why generation stopped.</param>
public sealed record GeneratedSequence(int Index, int PromptTokenCount, IReadOnlyList<int> TokenIds, string? Text, FinishReason Finish)
{
    /// <summary>Gets the number of generated ids.</summary>
    public int GeneratedTokenCount => TokenIds.Count;
}
