using System.Text.Json.Serialization;

namespace Skim.Distill.Responses;

/// <summary>One line of <c>responses.jsonl</c>: an answered request, or a failed one (retried by the next run).</summary>
public sealed record ResponseRecord
{
    /// <summary>Status of an answered request.</summary>
    public const string Ok = "ok";

    /// <summary>Status of a failed request.</summary>
    public const string Failed = "failed";

    /// <summary>Source of an answer from the teacher.</summary>
    public const string TeacherSource = "teacher";

    /// <summary>Source of an answer imported from SKIM's provided responses.</summary>
    public const string ImportSource = "import";

    /// <summary>Gets the request key (<see cref="RequestKey"/>).</summary>
    [JsonPropertyName("key")]
    public required string Key { get; init; }

    /// <summary>Gets the item's index (label column or train row).</summary>
    [JsonPropertyName("index")]
    public int Index { get; init; }

    /// <summary>Gets the item's uid.</summary>
    [JsonPropertyName("uid")]
    public required string Uid { get; init; }

    /// <summary>Gets <see cref="Ok"/> or <see cref="Failed"/>.</summary>
    [JsonPropertyName("status")]
    public required string Status { get; init; }

    /// <summary>Gets the completions (empty for failures).</summary>
    [JsonPropertyName("responses")]
    public IReadOnlyList<string> Responses { get; init; } = [];

    /// <summary>Gets the finish reason (stop, length, content_filter), when answered.</summary>
    [JsonPropertyName("finish_reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FinishReason { get; init; }

    /// <summary>Gets why a request failed (http_429, timeout, content_filter, malformed_response, ...).</summary>
    [JsonPropertyName("reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }

    /// <summary>Gets a one-line description of a failure.</summary>
    [JsonPropertyName("error")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }

    /// <summary>Gets the prompt tokens billed.</summary>
    [JsonPropertyName("input_tokens")]
    public long InputTokens { get; init; }

    /// <summary>Gets the completion tokens billed.</summary>
    [JsonPropertyName("output_tokens")]
    public long OutputTokens { get; init; }

    /// <summary>Gets the model that answered.</summary>
    [JsonPropertyName("model")]
    public string Model { get; init; } = "";

    /// <summary>Gets where the answer came from (<see cref="TeacherSource"/> or <see cref="ImportSource"/>).</summary>
    [JsonPropertyName("source")]
    public string Source { get; init; } = TeacherSource;

    /// <summary>Gets whether the request was answered.</summary>
    [JsonIgnore]
    public bool IsOk => Status == Ok;
}
