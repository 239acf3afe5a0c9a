using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Skim.Bench;

/// <summary>
/// An OpenAI-compatible teacher that answers at once: an in-process Kestrel server on loopback that
/// reads each <c>POST …/chat/completions</c> body and writes the same small chat completion back,
/// so that what a benchmark measures is the client's side (and this server's share of the CPU).
/// </summary>
public sealed class TeacherLoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _served;

    private TeacherLoopbackServer(WebApplication app, byte[] body)
    {
        _app = app;
        Body = body;
    }

    /// <summary>Gets the OpenAI-compatible base URL, e.g. http://127.0.0.1:PORT/v1.</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>Gets the bytes of the chat completion every request is answered with.</summary>
    public byte[] Body { get; }

    /// <summary>Gets the requests answered so far.</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>Starts a server on a free loopback port.</summary>
    public static async Task<TeacherLoopbackServer> StartAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new TeacherLoopbackServer(app, Encoding.UTF8.GetBytes(Completion().ToJsonString()));
        app.Run(server.AnswerAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = address.TrimEnd('/') + "/v1";
        return server;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    // A typical answer of the paper's prompts: a handful of short queries, about 40 completion tokens.
    private static JsonObject Completion() => new()
    {
        ["id"] = "chatcmpl-bench",
        ["object"] = "chat.completion",
        ["created"] = 1,
        ["model"] = "bench-teacher",
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "1. stainless steel water bottle\n2. insulated bottle 1 litre\n3. leak proof flask for hiking\n4. bpa free sports bottle" },
            ["finish_reason"] = "stop",
        }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 152, ["completion_tokens"] = 38, ["total_tokens"] = 190 },
    };

    private async Task AnswerAsync(HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method) || context.Request.Path.Value?.EndsWith("/chat/completions", StringComparison.Ordinal) != true)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        // The body is read to its end, as a real server must before answering.
        await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted).ConfigureAwait(false);
        Interlocked.Increment(ref _served);
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = Body.Length;
        await context.Response.Body.WriteAsync(Body, context.RequestAborted).ConfigureAwait(false);
    }
}
