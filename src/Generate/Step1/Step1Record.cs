using System.Text.Json.Serialization;

namespace Skim.Generate.Step1;

/// <summary>One item's generation: a line of a shard's <c>generations.jsonl</c> and a row of <c>generations.parquet</c>.</summary>
public sealed record Step1Record
{
    /// <summary>Gets the item's global index (label column or train row).</summary>
    [JsonPropertyName("item")]
    public long Item { get; init; }

    /// <summary>Gets the item's identifier in the dataset.</summary>
    [JsonPropertyName("uid")]
    public string Uid { get; init; } = "";

    /// <summary>Gets the raw generated text (before post-processing).</summary>
    [JsonPropertyName("text")]
    public string Text { get; init; } = "";

    /// <summary>Gets the prompt's token count.</summary>
    [JsonPropertyName("prompt_tokens")]
    public int PromptTokens { get; init; }

    /// <summary>Gets the number of generated tokens.</summary>
    [JsonPropertyName("generated_tokens")]
    public int GeneratedTokens { get; init; }

    /// <summary>Gets why generation stopped: "stop" (EOS or a stop string) or "length".</summary>
    [JsonPropertyName("finish_reason")]
    public string FinishReason { get; init; } = "";

    /// <summary>Gets the shard that generated it, as <c>K/N</c>.</summary>
    [JsonPropertyName("shard")]
    public string Shard { get; init; } = "";

    /// <summary>Gets the engine that generated it, in words.</summary>
    [JsonPropertyName("backend")]
    public string Backend { get; init; } = "";
}
