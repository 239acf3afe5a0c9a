namespace Skim.Distill.Teachers;

/// <summary>
/// A teacher LLM behind one call: a prompt in, its completion(s) out. Implementations apply their
/// own limits (requests in flight, rate limits, retries, per-request timeout) so that a caller may
/// start as many calls as it likes; they are safe to call from many threads.
/// </summary>
public interface ITeacherClient : IDisposable
{
    /// <summary>Gets the teacher kind (azure, openai, compatible, local-extractive).</summary>
    string Kind { get; }

    /// <summary>Gets the model (or Azure deployment) answers come from; part of every request key.</summary>
    string Model { get; }

    /// <summary>Asks for the completion(s) of <paramref name="prompt"/>.</summary>
    /// <param name="prompt">The user message.</param>
    /// <param name="settings">Sampling settings and the system message.</param>
    /// <param name="ct">Cancels the call (and its retries).</param>
    /// <returns>The answer; a content-filter refusal is an answer whose finish reason says so.</returns>
    /// <exception cref="TeacherRequestException">The request failed after the retries the client allows.</exception>
    Task<TeacherAnswer> CompleteAsync(string prompt, TeacherSettings settings, CancellationToken ct);
}

/// <summary>Sampling settings sent with every request (the paper's defaults).</summary>
public sealed record TeacherSettings
{
    /// <summary>Gets the most tokens a completion may have. Defaults to 200.</summary>
    public int MaxTokens { get; init; } = 200;

    /// <summary>Gets the sampling temperature. Defaults to 0.8.</summary>
    public double Temperature { get; init; } = 0.8;

    /// <summary>Gets the stop sequences (at most 4 for OpenAI). Defaults to none.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Gets the completions asked for per prompt. Defaults to 1.</summary>
    public int N { get; init; } = 1;

    /// <summary>Gets the system message sent before the prompt, or null for none. Defaults to null.</summary>
    public string? SystemMessage { get; init; }
}

/// <summary>What the teacher answered.</summary>
/// <param name="Texts">The completions (one per choice; <see cref="TeacherSettings.N"/> of them).</param>
/// <param name="FinishReason">The first choice's finish reason that is not <c>stop</c>, else <c>stop</c> (e.g. <c>length</c>, <c>content_filter</c>).</param>
/// <param name="InputTokens">Prompt tokens billed.</param>
/// <param name="OutputTokens">Completion tokens billed.</param>
public sealed record TeacherAnswer(IReadOnlyList<string> Texts, string FinishReason, long InputTokens, long OutputTokens)
{
    /// <summary>The finish reason of a complete answer.</summary>
    public const string Stop = "stop";

    /// <summary>The finish reason of an answer cut by <see cref="TeacherSettings.MaxTokens"/>.</summary>
    public const string Length = "length";

    /// <summary>The finish reason of a content-filter refusal.</summary>
    public const string ContentFilter = "content_filter";

    /// <summary>Gets whether the teacher's content filter refused the prompt or the answer.</summary>
    public bool IsContentFiltered => FinishReason == ContentFilter;
}

/// <summary>A teacher request that failed: the HTTP status (when there was one), the reason, and whether trying again may help.</summary>
public sealed class TeacherRequestException : Exception
{
    /// <summary>Creates a failure.</summary>
    /// <param name="reason">Short machine-readable reason stored with the failure (e.g. "http_429", "timeout").</param>
    /// <param name="message">One line for a person.</param>
    /// <param name="statusCode">The HTTP status, or null when no response came.</param>
    /// <param name="transient">Whether retrying may succeed (429, 5xx, timeouts, dropped connections).</param>
    /// <param name="retryAfter">The wait the server asked for, when it said.</param>
    /// <param name="unreachable">Whether no connection could be made at all.</param>
    /// <param name="inner">The cause.</param>
    public TeacherRequestException(string reason, string message, int? statusCode = null, bool transient = false, TimeSpan? retryAfter = null, bool unreachable = false, Exception? inner = null)
        : base(message, inner)
    {
        Reason = reason;
        StatusCode = statusCode;
        IsTransient = transient;
        RetryAfter = retryAfter;
        IsUnreachable = unreachable;
    }

    /// <summary>Creates a failure with a message.</summary>
    public TeacherRequestException(string message)
        : this("error", message)
    {
    }

    /// <summary>Creates a failure with a message and cause.</summary>
    public TeacherRequestException(string message, Exception innerException)
        : this("error", message, inner: innerException)
    {
    }

    /// <summary>Creates a failure with no message.</summary>
    public TeacherRequestException()
        : this("error", "teacher request failed")
    {
    }

    /// <summary>Gets the short reason stored with the failure.</summary>
    public string Reason { get; }

    /// <summary>Gets the HTTP status, or null when no response came.</summary>
    public int? StatusCode { get; }

    /// <summary>Gets whether a retry may succeed.</summary>
    public bool IsTransient { get; }

    /// <summary>Gets the wait the server asked for (Retry-After), when it said.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Gets whether no connection could be made (the endpoint is down or wrong).</summary>
    public bool IsUnreachable { get; }
}
