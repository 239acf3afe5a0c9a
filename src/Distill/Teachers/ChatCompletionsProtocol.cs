using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Skim.Distill.Teachers;

/// <summary>
/// The request body and response parsing of OpenAI's chat-completions API, shared by every HTTP
/// teacher (OpenAI, Azure OpenAI and compatible servers speak the same JSON), and the mapping of
/// HTTP failures onto <see cref="TeacherRequestException"/>.
/// </summary>
public static class ChatCompletionsProtocol
{
    /// <summary>Builds the JSON body of one request; <paramref name="model"/> is left out when null (Azure routes by deployment).</summary>
    public static JsonObject Body(string? model, string prompt, TeacherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(settings);
        var messages = new JsonArray();
        if (!string.IsNullOrEmpty(settings.SystemMessage))
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = settings.SystemMessage });
        }
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = prompt });
        var body = new JsonObject();
        if (model is not null)
        {
            body["model"] = model;
        }
        body["messages"] = messages;
        body["max_tokens"] = settings.MaxTokens;
        body["temperature"] = settings.Temperature;
        if (settings.N != 1)
        {
            body["n"] = settings.N;
        }
        if (settings.Stop.Count > 0)
        {
            body["stop"] = new JsonArray([.. settings.Stop.Select(s => (JsonNode?)JsonValue.Create(s))]);
        }
        return body;
    }

    /// <summary>
    /// Turns an HTTP response into an answer, or throws: 429, 408 and 5xx are transient (with the
    /// server's Retry-After), a content-filter rejection of the prompt (HTTP 400 with code
    /// <c>content_filter</c>) is an answer with that finish reason, other 4xx are permanent, and a
    /// 2xx body that is not a chat completion is a permanent "malformed_response".
    /// </summary>
    /// <param name="status">The HTTP status code.</param>
    /// <param name="body">The response body.</param>
    /// <param name="retryAfter">The Retry-After the response carried, if any.</param>
    public static TeacherAnswer Parse(int status, string body, TimeSpan? retryAfter)
    {
        body ??= "";
        if (status is >= 200 and < 300)
        {
            return ParseCompletion(body);
        }
        var (code, message) = ErrorOf(body);
        if (status == 400 && code == TeacherAnswer.ContentFilter)
        {
            return new TeacherAnswer([], TeacherAnswer.ContentFilter, 0, 0);
        }
        var transient = status is 408 or 409 or 429 or >= 500;
        throw new TeacherRequestException($"http_{status.ToString(CultureInfo.InvariantCulture)}", $"HTTP {status.ToString(CultureInfo.InvariantCulture)}{(message is null ? "" : ": " + message)}", status, transient, retryAfter);
    }

    /// <summary>Reads Retry-After (seconds or an HTTP date) or OpenAI's <c>retry-after-ms</c>.</summary>
    /// <param name="header">Looks a header up by name (case-insensitive), returning null when absent.</param>
    public static TimeSpan? RetryAfter(Func<string, string?> header)
    {
        ArgumentNullException.ThrowIfNull(header);
        if (header("retry-after-ms") is { } ms && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }
        if (header("Retry-After") is not { } value)
        {
            return null;
        }
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return TimeSpan.FromSeconds(seconds);
        }
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }

    /// <summary>Reads Retry-After from HTTP response headers.</summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return RetryAfter(name => headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null);
    }

    private static TeacherAnswer ParseCompletion(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                throw Malformed("expected an object with a non-empty 'choices' array");
            }
            var texts = new List<string>();
            var finish = TeacherAnswer.Stop;
            foreach (var choice in choices.EnumerateArray())
            {
                var reason = choice.TryGetProperty("finish_reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : TeacherAnswer.Stop;
                if (finish == TeacherAnswer.Stop && reason != TeacherAnswer.Stop)
                {
                    finish = reason;
                }
                var content = choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
                    && message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                if (content is null && reason != TeacherAnswer.ContentFilter)
                {
                    throw Malformed("expected 'choices[].message.content' to be a string");
                }
                texts.Add(content ?? "");
            }
            long input = 0, output = 0;
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                input = usage.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt64(out var pv) ? pv : 0;
                output = usage.TryGetProperty("completion_tokens", out var o) && o.TryGetInt64(out var ov) ? ov : 0;
            }
            return new TeacherAnswer(finish == TeacherAnswer.ContentFilter ? [] : texts, finish, input, output);
        }
        catch (JsonException e)
        {
            throw Malformed($"not JSON ({e.Message})");
        }
    }

    private static TeacherRequestException Malformed(string problem) =>
        new("malformed_response", $"the teacher's response is not a chat completion: {problem}");

    private static (string? Code, string? Message) ErrorOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                return (code, message is null ? null : OneLine(message));
            }
        }
        catch (JsonException)
        {
            // A non-JSON error body (a proxy's HTML page): the status alone says enough.
        }
        return (null, null);
    }

    private static string OneLine(string text)
    {
        var flat = text.ReplaceLineEndings(" ");
        return flat.Length <= 200 ? flat : flat[..200] + "...";
    }
}
