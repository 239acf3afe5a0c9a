using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Skim.Distill.Tests.Teachers;

/// <summary>A request the server saw.</summary>
public sealed record SeenRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, JsonObject Body)
{
    /// <summary>Gets the user message of the body.</summary>
    public string Prompt => Body["messages"]!.AsArray().Last()!["content"]!.GetValue<string>();
}

/// <summary>
/// A real HTTP server on loopback (in-process Kestrel) playing the teacher: every request is
/// recorded, and a handler chosen by the test answers it (by default a chat completion echoing
/// the prompt's last line). Tracks the most requests it had in flight at once.
/// </summary>
public sealed class TeacherServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _inFlight;
    private int _maxInFlight;

    private TeacherServer(WebApplication app) => _app = app;

    /// <summary>Gets the base URL, e.g. http://127.0.0.1:PORT.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Gets every request seen, in arrival order.</summary>
    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    /// <summary>Gets the most requests in flight at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Gets or sets how a request is answered (the attempt number of this prompt is given, from 1).</summary>
    public Func<SeenRequest, int, HttpContext, Task> Handler { get; set; } = (request, _, context) => Completion(context, "answer for " + LastLine(request.Prompt));

    /// <summary>Starts a server.</summary>
    public static async Task<TeacherServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new TeacherServer(app);
        var attempts = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        app.Run(async context =>
        {
            var now = Interlocked.Increment(ref server._inFlight);
            int seen;
            do
            {
                seen = Volatile.Read(ref server._maxInFlight);
            }
            while (now > seen && Interlocked.CompareExchange(ref server._maxInFlight, now, seen) != seen);
            try
            {
                var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
                var path = context.Request.Path.Value ?? "";
                if (!path.EndsWith("/chat/completions", StringComparison.Ordinal))
                {
                    await server.Batches.HandleAsync(server, context, headers);
                    return;
                }
                using var reader = new StreamReader(context.Request.Body);
                var text = await reader.ReadToEndAsync(context.RequestAborted);
                var body = JsonNode.Parse(text)!.AsObject();
                var request = new SeenRequest(context.Request.Method, path, context.Request.QueryString.Value ?? "", headers, body);
                server.Requests.Enqueue(request);
                var attempt = attempts.AddOrUpdate(request.Prompt, 1, (_, n) => n + 1);
                await server.Handler(request, attempt, context);
                if (context.Response.StatusCode == 200)
                {
                    server.Answers.AddOrUpdate(request.Prompt, 1, (_, n) => n + 1);
                }
            }
            finally
            {
                Interlocked.Decrement(ref server._inFlight);
            }
        });
        await app.StartAsync();
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    /// <summary>Gets how many times each prompt was answered (live answers with status 200, and batch output lines).</summary>
    public ConcurrentDictionary<string, int> Answers { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets the Batch API side: files, batches, counters and the behaviour of the next batches.</summary>
    public BatchBackend Batches { get; } = new();

    /// <summary>Writes a chat completion.</summary>
    public static Task Completion(HttpContext context, string content, string finishReason = "stop", int promptTokens = 11, int completionTokens = 7, int choices = 1)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(CompletionBody(content, finishReason, promptTokens, completionTokens, choices).ToJsonString());
    }

    /// <summary>The JSON of a chat completion.</summary>
    public static JsonObject CompletionBody(string content, string finishReason = "stop", int promptTokens = 11, int completionTokens = 7, int choices = 1)
    {
        return new JsonObject
        {
            ["id"] = "chatcmpl-1",
            ["object"] = "chat.completion",
            ["created"] = 1,
            ["model"] = "teacher",
            ["choices"] = new JsonArray([.. Enumerable.Range(0, choices).Select(i => (JsonNode)new JsonObject
            {
                ["index"] = i,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = choices == 1 ? content : $"{content} #{i}" },
                ["finish_reason"] = finishReason,
            })]),
            ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens, ["total_tokens"] = promptTokens + completionTokens },
        };
    }

    /// <summary>Writes an error status with an OpenAI-style error body.</summary>
    public static Task Error(HttpContext context, int status, string code = "error", string? retryAfter = null)
    {
        context.Response.StatusCode = status;
        if (retryAfter is not null)
        {
            context.Response.Headers["Retry-After"] = retryAfter;
        }
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(new JsonObject { ["error"] = new JsonObject { ["message"] = $"status {status}", ["code"] = code } }.ToJsonString());
    }

    /// <summary>The last non-empty line of a prompt.</summary>
    public static string LastLine(string prompt) => prompt.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A file uploaded to the Batch API.</summary>
public sealed record StoredFile(string Id, string Name, string Purpose, byte[] Content);

/// <summary>A batch the server holds.</summary>
public sealed class StoredBatch
{
    /// <summary>Gets the id.</summary>
    public required string Id { get; init; }

    /// <summary>Gets the input file id.</summary>
    public required string InputFileId { get; init; }

    /// <summary>Gets the endpoint the batch was created for.</summary>
    public required string Endpoint { get; init; }

    /// <summary>Gets or sets the status.</summary>
    public string Status { get; set; } = "validating";

    /// <summary>Gets or sets the status reads so far.</summary>
    public int Polls { get; set; }

    /// <summary>Gets or sets the output file id.</summary>
    public string? OutputFileId { get; set; }

    /// <summary>Gets or sets the error file id.</summary>
    public string? ErrorFileId { get; set; }

    /// <summary>Gets or sets the (total, completed, failed) counts.</summary>
    public (int Total, int Completed, int Failed) Counts { get; set; }
}

/// <summary>
/// The Batch API side of <see cref="TeacherServer"/>, on any prefix (<c>/v1</c>, <c>/openai</c>):
/// file upload (multipart), listing and content; batch creation, listing, status and cancel. Each
/// batch answers "in_progress" for <see cref="PollsBeforeDone"/> status reads, then ends in
/// <see cref="FinalStatus"/> with output and error files built from its input lines.
/// </summary>
public sealed class BatchBackend
{
    private readonly object _gate = new();
    private int _uploads;
    private int _submissions;
    private int _ids;

    /// <summary>Gets the files, by id.</summary>
    public ConcurrentDictionary<string, StoredFile> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets the batches in creation order.</summary>
    public List<StoredBatch> Created { get; } = [];

    /// <summary>Gets the uploads made (found files not counted).</summary>
    public int Uploads => Volatile.Read(ref _uploads);

    /// <summary>Gets the batches created.</summary>
    public int Submissions => Volatile.Read(ref _submissions);

    /// <summary>Gets or sets the status reads answering in_progress before a batch ends. Defaults to 1.</summary>
    public int PollsBeforeDone { get; set; } = 1;

    /// <summary>Gets or sets how a batch ends: completed, failed, expired or cancelled. Defaults to completed.</summary>
    public string FinalStatus { get; set; } = "completed";

    /// <summary>Gets or sets the lines answered (the first ones) when a batch expires or is cancelled; null: all.</summary>
    public int? AnsweredLines { get; set; }

    /// <summary>Gets or sets a line's error code by line number: null answers it, content_filter puts an HTTP 400 line in the error file, anything else an error-object line.</summary>
    public Func<int, string?> LineError { get; set; } = _ => null;

    /// <summary>Gets or sets whether the next creation is made but answered with HTTP 500 (a response lost after the server acted).</summary>
    public bool LoseNextCreateResponse { get; set; }

    /// <summary>Gets or sets whether the next upload is stored but answered with HTTP 500.</summary>
    public bool LoseNextUploadResponse { get; set; }

    /// <summary>Adds a file as if uploaded earlier (a run killed before it recorded the id).</summary>
    public StoredFile AddFile(string name, byte[] content)
    {
        var file = new StoredFile(NextId("file"), name, "batch", content);
        Files[file.Id] = file;
        return file;
    }

    /// <summary>Adds a batch as if created earlier (a run killed before it recorded the id).</summary>
    public StoredBatch AddBatch(string inputFileId, string endpoint = "/v1/chat/completions")
    {
        var batch = new StoredBatch { Id = NextId("batch"), InputFileId = inputFileId, Endpoint = endpoint };
        lock (_gate)
        {
            Created.Add(batch);
        }
        return batch;
    }

    /// <summary>Gets a file's content as text.</summary>
    public string Text(string fileId) => System.Text.Encoding.UTF8.GetString(Files[fileId].Content);

    private string NextId(string prefix) => $"{prefix}-{Interlocked.Increment(ref _ids)}";

    internal async Task HandleAsync(TeacherServer server, HttpContext context, IReadOnlyDictionary<string, string> headers)
    {
        var method = context.Request.Method;
        var path = context.Request.Path.Value ?? "";
        var body = new JsonObject();
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var upload = form.Files["file"];
            if (upload is null || form["purpose"] != "batch")
            {
                await TeacherServer.Error(context, 400, "invalid_request");
                return;
            }
            using var buffer = new MemoryStream();
            await upload.CopyToAsync(buffer, context.RequestAborted);
            body["purpose"] = form["purpose"].ToString();
            body["filename"] = upload.FileName;
            server.Requests.Enqueue(new SeenRequest(method, path, context.Request.QueryString.Value ?? "", headers, body));
            Interlocked.Increment(ref _uploads);
            var file = AddFile(upload.FileName, buffer.ToArray());
            if (LoseNextUploadResponse)
            {
                LoseNextUploadResponse = false;
                await TeacherServer.Error(context, 500, "server_error");
                return;
            }
            await Json(context, FileJson(file));
            return;
        }
        using (var reader = new StreamReader(context.Request.Body))
        {
            var text = await reader.ReadToEndAsync(context.RequestAborted);
            if (text.Length > 0)
            {
                body = JsonNode.Parse(text)!.AsObject();
            }
        }
        server.Requests.Enqueue(new SeenRequest(method, path, context.Request.QueryString.Value ?? "", headers, body));
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.FindLastIndex(segments, s => s is "files" or "batches");
        var route = at < 0 ? [] : segments[at..];
        switch (method, route)
        {
            case ("GET", ["files"]):
                await Json(context, new JsonObject { ["object"] = "list", ["data"] = new JsonArray([.. Files.Values.Select(f => (JsonNode)FileJson(f))]) });
                return;
            case ("GET", ["files", var id, "content"]) when Files.TryGetValue(id, out var file):
                context.Response.ContentType = "application/octet-stream";
                await context.Response.Body.WriteAsync(file.Content, context.RequestAborted);
                return;
            case ("POST", ["batches"]):
            {
                var inputFileId = body["input_file_id"]?.GetValue<string>() ?? "";
                if (!Files.ContainsKey(inputFileId) || body["completion_window"]?.GetValue<string>() != "24h")
                {
                    await TeacherServer.Error(context, 400, "invalid_request");
                    return;
                }
                Interlocked.Increment(ref _submissions);
                var batch = AddBatch(inputFileId, body["endpoint"]?.GetValue<string>() ?? "");
                if (LoseNextCreateResponse)
                {
                    LoseNextCreateResponse = false;
                    await TeacherServer.Error(context, 500, "server_error");
                    return;
                }
                await Json(context, BatchJson(batch));
                return;
            }
            case ("GET", ["batches"]):
            {
                StoredBatch[] all;
                lock (_gate)
                {
                    all = [.. Created];
                }
                // Newest first, as OpenAI lists them.
                await Json(context, new JsonObject { ["object"] = "list", ["data"] = new JsonArray([.. all.Reverse().Select(b => (JsonNode)BatchJson(b))]), ["has_more"] = false });
                return;
            }
            case ("GET", ["batches", var id]) when Find(id) is { } batch:
                lock (_gate)
                {
                    Advance(server, batch);
                }
                await Json(context, BatchJson(batch));
                return;
            case ("POST", ["batches", var id, "cancel"]) when Find(id) is { } batch:
                lock (_gate)
                {
                    batch.Status = "cancelling";
                }
                await Json(context, BatchJson(batch));
                return;
            default:
                await TeacherServer.Error(context, 404, "not_found");
                return;
        }
    }

    private StoredBatch? Find(string id)
    {
        lock (_gate)
        {
            return Created.FirstOrDefault(b => b.Id == id);
        }
    }

    private void Advance(TeacherServer server, StoredBatch batch)
    {
        if (batch.Status is "completed" or "failed" or "expired" or "cancelled")
        {
            return;
        }
        var lines = Text(batch.InputFileId).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        batch.Polls++;
        if (batch.Polls <= PollsBeforeDone && batch.Status != "cancelling")
        {
            batch.Status = "in_progress";
            batch.Counts = (lines.Count, 0, 0);
            return;
        }
        var final = batch.Status == "cancelling" ? "cancelled" : FinalStatus;
        batch.Status = final;
        if (final == "failed")
        {
            batch.Counts = (lines.Count, 0, 0);
            return;
        }
        var answered = final is "expired" or "cancelled" ? Math.Min(AnsweredLines ?? lines.Count, lines.Count) : lines.Count;
        var output = new System.Text.StringBuilder();
        var errors = new System.Text.StringBuilder();
        var (completed, failed) = (0, 0);
        for (var i = 0; i < answered; i++)
        {
            var line = lines[i];
            var id = line["custom_id"]!.GetValue<string>();
            var prompt = line["body"]!["messages"]!.AsArray().Last()!["content"]!.GetValue<string>();
            switch (LineError(i))
            {
                case null:
                    server.Answers.AddOrUpdate(prompt, 1, (_, n) => n + 1);
                    output.Append(new JsonObject
                    {
                        ["id"] = $"batch_req_{i}",
                        ["custom_id"] = id,
                        ["response"] = new JsonObject { ["status_code"] = 200, ["request_id"] = $"req_{i}", ["body"] = TeacherServer.CompletionBody("answer for " + TeacherServer.LastLine(prompt)) },
                        ["error"] = null,
                    }.ToJsonString()).Append('\n');
                    completed++;
                    break;
                case "content_filter":
                    errors.Append(new JsonObject
                    {
                        ["id"] = $"batch_req_{i}",
                        ["custom_id"] = id,
                        ["response"] = new JsonObject { ["status_code"] = 400, ["request_id"] = $"req_{i}", ["body"] = new JsonObject { ["error"] = new JsonObject { ["code"] = "content_filter", ["message"] = "filtered" } } },
                        ["error"] = null,
                    }.ToJsonString()).Append('\n');
                    failed++;
                    break;
                case var code:
                    errors.Append(new JsonObject
                    {
                        ["id"] = $"batch_req_{i}",
                        ["custom_id"] = id,
                        ["response"] = null,
                        ["error"] = new JsonObject { ["code"] = code, ["message"] = $"line {i} failed" },
                    }.ToJsonString()).Append('\n');
                    failed++;
                    break;
            }
        }
        if (output.Length > 0)
        {
            batch.OutputFileId = AddFile($"{batch.Id}_output.jsonl", System.Text.Encoding.UTF8.GetBytes(output.ToString())).Id;
        }
        if (errors.Length > 0)
        {
            batch.ErrorFileId = AddFile($"{batch.Id}_error.jsonl", System.Text.Encoding.UTF8.GetBytes(errors.ToString())).Id;
        }
        batch.Counts = (lines.Count, completed, failed);
    }

    private static JsonObject FileJson(StoredFile file) => new()
    {
        ["id"] = file.Id,
        ["object"] = "file",
        ["bytes"] = file.Content.Length,
        ["filename"] = file.Name,
        ["purpose"] = file.Purpose,
        ["status"] = "processed",
    };

    private static JsonObject BatchJson(StoredBatch batch) => new()
    {
        ["id"] = batch.Id,
        ["object"] = "batch",
        ["endpoint"] = batch.Endpoint,
        ["input_file_id"] = batch.InputFileId,
        ["completion_window"] = "24h",
        ["status"] = batch.Status,
        ["output_file_id"] = batch.OutputFileId,
        ["error_file_id"] = batch.ErrorFileId,
        ["errors"] = batch.Status == "failed" ? new JsonObject { ["object"] = "list", ["data"] = new JsonArray(new JsonObject { ["code"] = "invalid_request", ["message"] = "the input file is not valid" }) } : null,
        ["request_counts"] = new JsonObject { ["total"] = batch.Counts.Total, ["completed"] = batch.Counts.Completed, ["failed"] = batch.Counts.Failed },
    };

    private static Task Json(HttpContext context, JsonObject body)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString());
    }
}
