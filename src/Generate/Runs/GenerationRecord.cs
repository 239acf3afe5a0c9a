using System.Text.Json.Serialization;
using Skim.Models.Generation;

namespace Skim.Generate.Runs;

/// <summary>One line of a generations JSONL file: a prompt and its continuation.</summary>
/// <param name="Index">The prompt's position in the prompts file, counted from 0 (shards keep the global index).</param>
/// <param name="Prompt">The prompt text.</param>
/// <param name="Text">The generated text (special tokens dropped, cut before a stop string).</param>
/// <param name="PromptTokens">Prompt ids (special prefix tokens included, padding excluded).</param>
/// <param name="GeneratedTokens">Generated ids, including an EOS id or the tokens that completed a stop string.</param>
/// <param name="FinishReason">Why generation stopped: <c>eos</c>, <c>stopstring</c> or <c>length</c>.</param>
public sealed record GenerationRecord(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("generated_tokens")] int GeneratedTokens,
    [property: JsonPropertyName("finish_reason")] string FinishReason)
{
    /// <summary>Builds the record of <paramref name="sequence"/>, whose index is relative to the first prompt of <paramref name="offset"/>.</summary>
    public static GenerationRecord From(GeneratedSequence sequence, string prompt, int offset)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        return new GenerationRecord(
            offset + sequence.Index,
            prompt,
            sequence.Text,
            sequence.PromptTokenCount,
            sequence.GeneratedTokenCount,
            sequence.Finish.ToString().ToLowerInvariant());
    }
}
