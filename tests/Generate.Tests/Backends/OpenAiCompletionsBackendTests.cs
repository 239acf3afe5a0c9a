using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Skim.Core;
using Skim.Generate.Backends;
using Skim.Models.Generation;

namespace Skim.Generate.Tests.Backends;

public sealed class OpenAiCompletionsBackendTests
{
    private static readonly GenerationOptions s_sampling = new() { MaxNewTokens = 20, Temperature = 0.8, TopK = 200, StopStrings = ["###"] };

    [Fact]
    public async Task Each_prompt_is_one_completion_request_with_its_seed_and_the_sampling_settings_and_concurrency_stays_bounded()
    {
        // Given a loopback server that answers after a short wait and remembers the requests
        await using var server = await LoopbackServer.StartAsync(async (body, ct) =>
        {
            await Task.Delay(30, ct);
            var seed = body["seed"]!.GetValue<long>();
            return (200, Answer($"query {seed}\nanother", seed % 2 == 0 ? "length" : "stop", 7, 2));
        });
        using var backend = new OpenAiCompletionsBackend(server.BaseUrl, "slm", s_sampling, concurrency: 3, retryDelay: TimeSpan.FromMilliseconds(1));
        var requests = Enumerable.Range(0, 10).Select(i => new BackendRequest(100 + i, $"prompt {i}", i)).ToList();

        // When ten prompts are continued
        var outputs = await backend.GenerateAsync(requests, CancellationToken.None);

        // Then outputs follow the requests, the bodies carry model, seed, sampling and stops, and at most 3 were in flight
        Assert.Equal(requests.Select(r => r.Item), outputs.Select(o => o.Item));
        Assert.All(outputs, o => Assert.Equal($"query {o.Item - 100}\nanother", o.Text));
        Assert.Equal(["length", "stop"], outputs.Take(2).Select(o => o.FinishReason));
        Assert.All(outputs, o => Assert.Equal((7, 2), (o.PromptTokens, o.GeneratedTokens)));
        var body = server.Bodies.Single(b => b["prompt"]!.GetValue<string>() == "prompt 3");
        Assert.Equal("slm", body["model"]!.GetValue<string>());
        Assert.Equal(3, body["seed"]!.GetValue<long>());
        Assert.Equal(20, body["max_tokens"]!.GetValue<int>());
        Assert.Equal(200, body["top_k"]!.GetValue<int>());
        Assert.Equal(0.8, body["temperature"]!.GetValue<double>());
        Assert.Equal("###", body["stop"]![0]!.GetValue<string>());
        Assert.InRange(server.MaxInFlight, 1, 3);
    }

    [Fact]
    public async Task Rate_limits_server_errors_unreadable_answers_and_timeouts_are_retried_until_an_answer_comes()
    {
        // Given a server whose first four answers per prompt are 429, 503, broken JSON and a hang past the timeout
        var tries = new ConcurrentDictionary<string, int>();
        await using var server = await LoopbackServer.StartAsync(async (body, ct) =>
        {
            var attempt = tries.AddOrUpdate(body["prompt"]!.GetValue<string>(), 1, (_, n) => n + 1);
            switch (attempt)
            {
                case 1:
                    return (429, "{\"error\":\"slow down\"}");
                case 2:
                    return (503, "overloaded");
                case 3:
                    return (200, "{\"choices\": [");
                case 4:
                    await Task.Delay(TimeSpan.FromSeconds(5), ct);
                    return (200, Answer("late", "stop", 1, 1));
                default:
                    return (200, Answer("finally", "stop", 1, 1));
            }
        });
        using var backend = new OpenAiCompletionsBackend(server.BaseUrl, null, s_sampling, concurrency: 2, maxRetries: 5, retryDelay: TimeSpan.FromMilliseconds(1), timeout: TimeSpan.FromMilliseconds(400));

        // When two prompts are continued
        var outputs = await backend.GenerateAsync([new(0, "a", 1), new(1, "b", 2)], CancellationToken.None);

        // Then both got the fifth answer, and no model name was sent
        Assert.All(outputs, o => Assert.Equal("finally", o.Text));
        Assert.Equal(5, tries["a"]);
        Assert.Equal(5, tries["b"]);
        Assert.All(server.Bodies, b => Assert.Null(b["model"]));
    }

    [Fact]
    public async Task A_client_error_fails_at_once_with_the_servers_message_and_endless_errors_give_up_after_the_retries()
    {
        // Given a server that refuses an unknown model, and one that always fails
        await using var refusing = await LoopbackServer.StartAsync((_, _) => Task.FromResult((404, "{\"error\":\"model 'nope' not found\"}")));
        await using var failing = await LoopbackServer.StartAsync((_, _) => Task.FromResult((500, "boom")));
        using var wrongModel = new OpenAiCompletionsBackend(refusing.BaseUrl, "nope", s_sampling, retryDelay: TimeSpan.FromMilliseconds(1));
        using var broken = new OpenAiCompletionsBackend(failing.BaseUrl, null, s_sampling, maxRetries: 2, retryDelay: TimeSpan.FromMilliseconds(1));

        // When each is asked once
        var refused = await Assert.ThrowsAsync<SkimException>(() => wrongModel.GenerateAsync([new(4, "p", 1)], CancellationToken.None));
        var gaveUp = await Assert.ThrowsAsync<SkimException>(() => broken.GenerateAsync([new(7, "p", 1)], CancellationToken.None));

        // Then the refusal is one request with the server's words, and the failure is 3 tries naming the item
        Assert.Contains("HTTP 404: {\"error\":\"model 'nope' not found\"}", refused.Message, StringComparison.Ordinal);
        Assert.Single(refusing.Bodies);
        Assert.Contains("item 7: no answer after 3 tries: HTTP 500: boom", gaveUp.Message, StringComparison.Ordinal);
        Assert.Equal(3, failing.Bodies.Count);
    }

    [Fact]
    public void An_endpoint_that_is_not_an_http_url_is_refused_by_name()
    {
        var error = Assert.Throws<SkimConfigException>(() => new OpenAiCompletionsBackend("localhost:8000", null, s_sampling));

        Assert.StartsWith("endpoint: expected an http(s) URL", error.Message, StringComparison.Ordinal);
    }

    private static string Answer(string text, string finish, int promptTokens, int completionTokens) => new JsonObject
    {
        ["choices"] = new JsonArray(new JsonObject { ["text"] = text, ["finish_reason"] = finish, ["index"] = 0 }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens },
    }.ToJsonString();

    /// <summary>A Kestrel server on a free loopback port answering POST /v1/completions with a test's handler.</summary>
    private sealed class LoopbackServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _inFlight;
        private int _maxInFlight;

        private LoopbackServer(WebApplication app) => _app = app;

        public string BaseUrl { get; private set; } = "";

        public ConcurrentBag<JsonObject> Bodies { get; } = [];

        public int MaxInFlight => _maxInFlight;

        public static async Task<LoopbackServer> StartAsync(Func<JsonObject, CancellationToken, Task<(int Status, string Body)>> handler)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var server = new LoopbackServer(app);
            app.MapPost("/v1/completions", async (HttpContext context) =>
            {
                var now = Interlocked.Increment(ref server._inFlight);
                InterlockedMax(ref server._maxInFlight, now);
                try
                {
                    var body = (JsonObject)(await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!;
                    server.Bodies.Add(body);
                    var (status, text) = await handler(body, context.RequestAborted);
                    context.Response.StatusCode = status;
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync(text, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The client gave up (its timeout); nothing to answer.
                }
                finally
                {
                    Interlocked.Decrement(ref server._inFlight);
                }
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            server.BaseUrl = address.TrimEnd('/') + "/v1";
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }
}
