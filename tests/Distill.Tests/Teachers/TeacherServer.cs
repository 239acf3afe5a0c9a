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
                using var reader = new StreamReader(context.Request.Body);
                var text = await reader.ReadToEndAsync(context.RequestAborted);
                var body = JsonNode.Parse(text)!.AsObject();
                var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
                var request = new SeenRequest(context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, body);
                server.Requests.Enqueue(request);
                var attempt = attempts.AddOrUpdate(request.Prompt, 1, (_, n) => n + 1);
                await server.Handler(request, attempt, context);
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

    /// <summary>Writes a chat completion.</summary>
    public static Task Completion(HttpContext context, string content, string finishReason = "stop", int promptTokens = 11, int completionTokens = 7, int choices = 1)
    {
        var body = new JsonObject
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
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString());
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
