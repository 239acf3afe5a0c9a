using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly;
using Polly.Timeout;

namespace Skim.Distill.Teachers.Batch;

/// <summary>A batch as the server describes it.</summary>
/// <param name="Id">The batch id.</param>
/// <param name="Status">validating, failed, in_progress, finalizing, completed, expired, cancelling or cancelled.</param>
/// <param name="InputFileId">The uploaded request file.</param>
/// <param name="OutputFileId">The file of answered lines, once there is one.</param>
/// <param name="ErrorFileId">The file of failed lines, once there is one.</param>
/// <param name="Total">Requests in the batch.</param>
/// <param name="Completed">Requests answered so far.</param>
/// <param name="Failed">Requests failed so far.</param>
/// <param name="Errors">The batch-level errors (why validation failed), one line, or null.</param>
public sealed record BatchInfo(string Id, string Status, string? InputFileId, string? OutputFileId, string? ErrorFileId, int Total, int Completed, int Failed, string? Errors)
{
    /// <summary>Gets whether the server will not change the batch any more.</summary>
    public bool IsFinal => Status is BatchApi.Completed or BatchApi.Failed or BatchApi.Expired or BatchApi.Cancelled;
}

/// <summary>
/// The Batch API routes of OpenAI, Azure OpenAI and OpenAI-compatible servers: file upload
/// (multipart, purpose <c>batch</c>), batch creation, status, file download, cancellation, and the
/// listings a resumed run searches so that a file or batch whose creation was answered but not
/// recorded (the run was killed in between) is adopted instead of created twice.
/// </summary>
/// <remarks>
/// Plain <see cref="HttpClient"/> and System.Text.Json rather than the OpenAI package: in OpenAI
/// 2.1.0 the batch client is protocol-level only (BinaryContent in, ClientResult out, marked
/// experimental), so it would save no JSON handling, and it cannot reach compatible servers that
/// run without a key. Every call goes through <see cref="TeacherResilience"/> (retries with backoff
/// on 429, 5xx, timeouts and dropped connections, honouring Retry-After).
/// <para>OpenAI and compatible servers: <c>{base}/files</c>, <c>{base}/batches</c> with the base
/// ending in <c>/v1</c> and request lines for <c>/v1/chat/completions</c>. Azure OpenAI:
/// <c>{endpoint}/openai/files?api-version=...</c>, <c>{endpoint}/openai/batches?api-version=...</c>,
/// the <c>api-key</c> header, request lines for <c>/chat/completions</c> and the deployment as the
/// body's model (Azure's global-batch deployments route by it).</para>
/// </remarks>
public sealed class BatchApi : IDisposable
{
    /// <summary>Batch status: answered completely.</summary>
    public const string Completed = "completed";

    /// <summary>Batch status: rejected (validation) or failed as a whole.</summary>
    public const string Failed = "failed";

    /// <summary>Batch status: the 24-hour window ended; part of the output may be there.</summary>
    public const string Expired = "expired";

    /// <summary>Batch status: cancelled; part of the output may be there.</summary>
    public const string Cancelled = "cancelled";

    // Seconds one call may take at least: uploads and downloads of a 200 MB file are slower than a completion.
    private const double MinimumCallSeconds = 600;

    private readonly HttpClient _http;
    private readonly TeacherResilience _resilience;
    private readonly string _base;
    private readonly string _query;
    private readonly bool _azure;

    /// <summary>Creates the client; the API key, when the kind has one, is read from the environment here.</summary>
    /// <param name="options">The teacher (azure, openai or compatible), its endpoint, key variable and retry settings.</param>
    /// <exception cref="Core.SkimConfigException">The kind has no Batch API (local-extractive) or an option is invalid.</exception>
    public BatchApi(TeacherClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Kind == TeacherClientOptions.LocalExtractive)
        {
            throw new Core.SkimConfigException("mode: batch needs a teacher with a Batch API (azure, openai or compatible), not local-extractive");
        }
        _azure = options.Kind == TeacherClientOptions.Azure;
        if (_azure)
        {
            _base = options.Endpoint!.TrimEnd('/') + "/openai";
            _query = "api-version=" + Uri.EscapeDataString(options.ApiVersion);
            BodyModel = options.Deployment!;
            LineUrl = "/chat/completions";
        }
        else
        {
            _base = (options.Endpoint ?? "https://api.openai.com/v1").TrimEnd('/');
            _query = "";
            BodyModel = options.Model!;
            LineUrl = "/v1/chat/completions";
        }
        _http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        if (options.EffectiveApiKeyVariable is { } variable && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } key)
        {
            if (_azure)
            {
                _http.DefaultRequestHeaders.Add("api-key", key);
            }
            else
            {
                _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
        }
        // Rate limits are the live path's; here only the retries and a longer per-call timeout apply.
        _resilience = new TeacherResilience(options with
        {
            Concurrency = 4,
            RequestsPerMinute = 0,
            TokensPerMinute = 0,
            TimeoutSeconds = Math.Max(options.TimeoutSeconds, MinimumCallSeconds),
        });
        Endpoint = options.Endpoint ?? "https://api.openai.com/v1";
        Kind = options.Kind;
    }

    /// <summary>Gets the teacher kind (azure, openai or compatible).</summary>
    public string Kind { get; }

    /// <summary>Gets the model written in each request line's body (the Azure deployment, else the model).</summary>
    public string BodyModel { get; }

    /// <summary>Gets the <c>url</c> of each request line and the batch's <c>endpoint</c>.</summary>
    public string LineUrl { get; }

    /// <summary>Gets the endpoint, for messages.</summary>
    public string Endpoint { get; }

    /// <summary>
    /// Returns the id of the uploaded file named <paramref name="fileName"/>: the one already on the
    /// server (uploaded by a run killed before it recorded the id, or by a retried attempt whose
    /// answer was lost), else a new upload (multipart, purpose batch).
    /// </summary>
    /// <returns>The file id, and whether it was found rather than uploaded.</returns>
    public Task<(string FileId, bool Found)> EnsureUploadedAsync(string fileName, byte[] content, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(content);
        // The search is inside the retried unit: an attempt that timed out after the server stored
        // the file is followed by one that finds it.
        return CallAsync(async token =>
            await FindFileOnceAsync(fileName, token).ConfigureAwait(false) is { } found
                ? (found, true)
                : (await UploadOnceAsync(fileName, content, token).ConfigureAwait(false), false), ct);
    }

    /// <summary>
    /// Returns the batch of <paramref name="inputFileId"/>: the one already on the server (created by
    /// a run killed before it recorded the id, or by a retried attempt whose answer was lost), else a
    /// new batch (endpoint <see cref="LineUrl"/>, completion window 24h).
    /// </summary>
    /// <returns>The batch, and whether it was found rather than created.</returns>
    public Task<(BatchInfo Batch, bool Found)> SubmitAsync(string inputFileId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(inputFileId);
        return CallAsync(async token =>
            await FindBatchOnceAsync(inputFileId, token).ConfigureAwait(false) is { } found
                ? (found, true)
                : (await CreateOnceAsync(inputFileId, token).ConfigureAwait(false), false), ct);
    }

    /// <summary>Finds an uploaded batch file by name, or null.</summary>
    public Task<string?> FindFileAsync(string fileName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return CallAsync(token => FindFileOnceAsync(fileName, token), ct);
    }

    /// <summary>Finds a batch of <paramref name="inputFileId"/>, newest first; null when there is none or the server cannot list batches.</summary>
    public Task<BatchInfo?> FindBatchAsync(string inputFileId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(inputFileId);
        return CallAsync(token => FindBatchOnceAsync(inputFileId, token), ct);
    }

    private async Task<string> UploadOnceAsync(string fileName, byte[] content, CancellationToken ct)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("batch"), "purpose");
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
        form.Add(file, "file", fileName);
        using var request = new HttpRequestMessage(HttpMethod.Post, Route("files")) { Content = form };
        var json = await SendJsonAsync(request, ct).ConfigureAwait(false);
        return Text(json, "id") ?? throw Malformed("a file object without 'id'");
    }

    private async Task<string?> FindFileOnceAsync(string fileName, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Route("files", "purpose=batch"));
        var json = await SendJsonAsync(request, ct, missingIsNull: true).ConfigureAwait(false);
        if (json?["data"] is not JsonArray files)
        {
            return null;
        }
        return files.OfType<JsonObject>()
            .Where(f => Text(f, "filename") == fileName && Text(f, "status") is not ("error" or "deleted"))
            .Select(f => Text(f, "id"))
            .FirstOrDefault(id => id is not null);
    }

    private async Task<BatchInfo> CreateOnceAsync(string inputFileId, CancellationToken ct)
    {
        var body = new JsonObject { ["input_file_id"] = inputFileId, ["endpoint"] = LineUrl, ["completion_window"] = "24h" };
        using var request = new HttpRequestMessage(HttpMethod.Post, Route("batches")) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        return Info(await SendJsonAsync(request, ct).ConfigureAwait(false));
    }

    private async Task<BatchInfo?> FindBatchOnceAsync(string inputFileId, CancellationToken ct)
    {
        string? after = null;
        // Batches are listed newest first; a batch created moments before a kill is on the first page.
        for (var page = 0; page < 20; page++)
        {
            var query = "limit=100" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after));
            using var request = new HttpRequestMessage(HttpMethod.Get, Route("batches", query));
            var json = await SendJsonAsync(request, ct, missingIsNull: true).ConfigureAwait(false);
            if (json?["data"] is not JsonArray batches)
            {
                return null;
            }
            foreach (var batch in batches.OfType<JsonObject>())
            {
                if (Text(batch, "input_file_id") == inputFileId)
                {
                    return Info(batch);
                }
            }
            after = batches.OfType<JsonObject>().Select(b => Text(b, "id")).LastOrDefault();
            if (json["has_more"]?.GetValueKind() != JsonValueKind.True || after is null)
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>Reads a batch's status and counts.</summary>
    public Task<BatchInfo> GetAsync(string batchId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batchId);
        return CallAsync(async token =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Route("batches/" + Uri.EscapeDataString(batchId)));
            return Info(await SendJsonAsync(request, token).ConfigureAwait(false));
        }, ct);
    }

    /// <summary>Asks the server to cancel a batch (answers already made stay, and are billed).</summary>
    public Task<BatchInfo> CancelAsync(string batchId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batchId);
        return CallAsync(async token =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Route("batches/" + Uri.EscapeDataString(batchId) + "/cancel"));
            return Info(await SendJsonAsync(request, token).ConfigureAwait(false));
        }, ct);
    }

    /// <summary>Downloads a file's content (a batch's output or error file).</summary>
    public Task<byte[]> DownloadAsync(string fileId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(fileId);
        return CallAsync(async token =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Route("files/" + Uri.EscapeDataString(fileId) + "/content"));
            using var response = await SendAsync(request, token).ConfigureAwait(false);
            byte[] bytes;
            try
            {
                bytes = await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new TeacherRequestException("dropped", $"the connection dropped while downloading file {fileId}: {e.Message}", (int)response.StatusCode, transient: true, inner: e);
            }
            ThrowOnError(response, Encoding.UTF8.GetString(bytes));
            return bytes;
        }, ct);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _http.Dispose();
        _resilience.Dispose();
    }

    private Uri Route(string path, string? query = null)
    {
        var parts = string.Join('&', new[] { query, _query }.Where(q => !string.IsNullOrEmpty(q)));
        return new Uri($"{_base}/{path}{(parts.Length == 0 ? "" : "?" + parts)}");
    }

    private async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        try
        {
            return await _resilience.Pipeline.ExecuteAsync(static async (c, token) => await c(token).ConfigureAwait(false), call, ct).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            throw new TeacherRequestException("timeout", $"the Batch API at {Endpoint} did not answer in time (after the retries)", transient: true, inner: e);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new TeacherRequestException("unreachable", $"cannot reach {Endpoint}: {e.Message}", transient: true, unreachable: true, inner: e);
        }
    }

    private async Task<JsonObject?> SendJsonAsync(HttpRequestMessage request, CancellationToken ct, bool missingIsNull = false)
    {
        using var response = await SendAsync(request, ct).ConfigureAwait(false);
        string text;
        try
        {
            text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new TeacherRequestException("dropped", $"the connection dropped while reading the answer: {e.Message}", (int)response.StatusCode, transient: true, inner: e);
        }
        // A server without the listing routes (many compatible servers): nothing to adopt.
        if (missingIsNull && (int)response.StatusCode is 404 or 405 or 501)
        {
            return null;
        }
        ThrowOnError(response, text);
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw Malformed("not a JSON object");
        }
        catch (JsonException e)
        {
            throw Malformed($"not JSON ({e.Message})");
        }
    }

    private static void ThrowOnError(HttpResponseMessage response, string body)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            return;
        }
        try
        {
            // The same status mapping as a completion's (429/408/409/5xx transient, other 4xx not).
            ChatCompletionsProtocol.Parse(status, body, ChatCompletionsProtocol.RetryAfter(response.Headers));
        }
        catch (TeacherRequestException e)
        {
            throw new TeacherRequestException(e.Reason, $"Batch API {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}: {e.Message}", e.StatusCode, e.IsTransient, e.RetryAfter, inner: e);
        }
        throw new TeacherRequestException($"http_{status.ToString(CultureInfo.InvariantCulture)}", $"Batch API: HTTP {status.ToString(CultureInfo.InvariantCulture)}", status);
    }

    private static BatchInfo Info(JsonObject? batch)
    {
        if (batch is null || Text(batch, "id") is not { } id || Text(batch, "status") is not { } status)
        {
            throw Malformed("a batch object without 'id' and 'status'");
        }
        var counts = batch["request_counts"] as JsonObject;
        int Count(string name) => counts?[name] is JsonValue v && v.TryGetValue<int>(out var n) ? n : 0;
        string? errors = null;
        if (batch["errors"]?["data"] is JsonArray list && list.Count > 0)
        {
            errors = string.Join("; ", list.OfType<JsonObject>().Take(3).Select(e => $"{Text(e, "code") ?? "error"}: {Text(e, "message") ?? ""}".Trim()));
        }
        return new BatchInfo(id, status, Text(batch, "input_file_id"), Text(batch, "output_file_id"), Text(batch, "error_file_id"), Count("total"), Count("completed"), Count("failed"), errors);
    }

    private static string? Text(JsonObject? node, string name) =>
        node?[name] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static TeacherRequestException Malformed(string problem) =>
        new("malformed_response", $"the Batch API's response is not what OpenAI's API returns: {problem}");
}
