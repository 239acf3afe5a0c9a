using System.Text.Json.Serialization;

namespace Skim.Distill.Sft;

/// <summary>
/// One SFT record in litgpt's alpaca fields. The fine-tuner trains on instruction + output with the
/// loss on the output only, so <see cref="Instruction"/> is exactly the prompt step-1 renders.
/// </summary>
public sealed record SftExample
{
    /// <summary>Gets the rendered prompt.</summary>
    [JsonPropertyName("instruction")]
    public required string Instruction { get; init; }

    /// <summary>Gets the input (always empty: the prompt holds everything).</summary>
    [JsonPropertyName("input")]
    public string Input { get; init; } = "";

    /// <summary>Gets the teacher's response.</summary>
    [JsonPropertyName("output")]
    public required string Output { get; init; }
}
