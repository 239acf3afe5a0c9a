using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Skim.Core;
using Skim.Distill.Teachers;

namespace Skim.Distill.Tests.Teachers;

public sealed class TeacherClientTests : IAsyncLifetime
{
    private readonly string _keyVariable = "SKIM_TEST_KEY_" + Guid.NewGuid().ToString("N");
    private TeacherServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TeacherServer.StartAsync();
        Environment.SetEnvironmentVariable(_keyVariable, "sk-test-secret");
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_keyVariable, null);
        await _server.DisposeAsync();
    }

    private TeacherClientOptions Compatible(int maxRetries = 3, double timeoutSeconds = 10, int concurrency = 4) => new()
    {
        Kind = TeacherClientOptions.Compatible,
        Endpoint = _server.BaseUrl + "/v1",
        Model = "teacher-7b",
        ApiKeyVariable = _keyVariable,
        MaxRetries = maxRetries,
        RetryDelaySeconds = 0.01,
        TimeoutSeconds = timeoutSeconds,
        Concurrency = concurrency,
    };

    private static readonly TeacherSettings s_settings = new() { MaxTokens = 200, Temperature = 0.8, Stop = ["###"], N = 2, SystemMessage = "You write search queries." };

    [Fact]
    public async Task The_compatible_client_posts_the_chat_completions_body_with_the_bearer_key()
    {
        // Given a compatible teacher
        using var client = TeacherClients.Create(Compatible());
        _server.Handler = (r, _, c) => TeacherServer.Completion(c, "river queries", choices: 2);

        // When one prompt is sent
        var answer = await client.CompleteAsync("Write queries.\nloire", s_settings, CancellationToken.None);

        // Then the route, headers and body are OpenAI's, and both completions and the usage come back
        var request = Assert.Single(_server.Requests);
        Assert.Equal(("POST", "/v1/chat/completions"), (request.Method, request.Path));
        Assert.Equal("Bearer sk-test-secret", request.Headers["authorization"]);
        Assert.Equal("teacher-7b", request.Body["model"]!.GetValue<string>());
        Assert.Equal(200, request.Body["max_tokens"]!.GetValue<int>());
        Assert.Equal(0.8, request.Body["temperature"]!.GetValue<double>());
        Assert.Equal(2, request.Body["n"]!.GetValue<int>());
        Assert.Equal("###", request.Body["stop"]![0]!.GetValue<string>());
        var messages = request.Body["messages"]!.AsArray();
        Assert.Equal(("system", "You write search queries."), (messages[0]!["role"]!.GetValue<string>(), messages[0]!["content"]!.GetValue<string>()));
        Assert.Equal(("user", "Write queries.\nloire"), (messages[1]!["role"]!.GetValue<string>(), messages[1]!["content"]!.GetValue<string>()));
        Assert.Equal(["river queries #0", "river queries #1"], answer.Texts);
        Assert.Equal((11L, 7L, "stop"), (answer.InputTokens, answer.OutputTokens, answer.FinishReason));
    }

    [Fact]
    public async Task The_openai_client_sends_the_model_and_bearer_key_through_the_openai_package()
    {
        // Given the OpenAI teacher pointed at the loopback server
        using var client = TeacherClients.Create(Compatible() with { Kind = TeacherClientOptions.OpenAI });

        // When
        var answer = await client.CompleteAsync("hello\nworld", s_settings with { N = 1 }, CancellationToken.None);

        // Then
        var request = Assert.Single(_server.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal("Bearer sk-test-secret", request.Headers["authorization"]);
        Assert.Equal("teacher-7b", request.Body["model"]!.GetValue<string>());
        Assert.False(request.Body.ContainsKey("n"));
        Assert.Equal("answer for world", Assert.Single(answer.Texts));
    }

    [Fact]
    public async Task The_azure_client_calls_the_deployment_route_with_the_api_version_and_api_key_header()
    {
        // Given an Azure teacher on the loopback server
        using var client = TeacherClients.Create(Compatible() with { Kind = TeacherClientOptions.Azure, Endpoint = _server.BaseUrl, Deployment = "gpt4-prod", Model = null });

        // When
        var answer = await client.CompleteAsync("hello\nazure", s_settings with { N = 1 }, CancellationToken.None);

        // Then
        var request = Assert.Single(_server.Requests);
        Assert.Equal("/openai/deployments/gpt4-prod/chat/completions", request.Path);
        Assert.Contains("api-version=2024-10-21", request.Query, StringComparison.Ordinal);
        Assert.Equal("sk-test-secret", request.Headers["api-key"]);
        Assert.False(request.Headers.ContainsKey("authorization"));
        Assert.Equal(200, request.Body["max_tokens"]!.GetValue<int>());
        Assert.Equal("gpt4-prod", client.Model);
        Assert.Equal("answer for azure", Assert.Single(answer.Texts));
    }

    [Fact]
    public async Task A_429_with_Retry_After_is_retried_after_the_wait_the_server_asked_for()
    {
        // Given a server that answers the first attempt with 429 and Retry-After: 1
        using var client = TeacherClients.Create(Compatible());
        _server.Handler = (r, attempt, c) => attempt == 1 ? TeacherServer.Error(c, 429, "rate_limit_exceeded", retryAfter: "1") : TeacherServer.Completion(c, "ok");

        // When
        var clock = Stopwatch.StartNew();
        var answer = await client.CompleteAsync("p", s_settings with { N = 1 }, CancellationToken.None);

        // Then the second attempt came after the server's second, not the 10 ms backoff
        Assert.Equal("ok", Assert.Single(answer.Texts));
        Assert.Equal(2, _server.Requests.Count);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"retried after {clock.Elapsed.TotalSeconds:F2} s");
    }

    [Fact]
    public async Task A_500_is_retried_until_it_succeeds()
    {
        using var client = TeacherClients.Create(Compatible());
        _server.Handler = (r, attempt, c) => attempt <= 2 ? TeacherServer.Error(c, 500) : TeacherServer.Completion(c, "third time");

        var answer = await client.CompleteAsync("p", s_settings with { N = 1 }, CancellationToken.None);

        Assert.Equal("third time", Assert.Single(answer.Texts));
        Assert.Equal(3, _server.Requests.Count);
    }

    [Fact]
    public async Task A_400_is_not_retried_and_says_its_status()
    {
        using var client = TeacherClients.Create(Compatible());
        _server.Handler = (r, attempt, c) => TeacherServer.Error(c, 400, "invalid_request_error");

        var error = await Assert.ThrowsAsync<TeacherRequestException>(() => client.CompleteAsync("p", s_settings, CancellationToken.None));

        Assert.Single(_server.Requests);
        Assert.Equal(("http_400", 400, false), (error.Reason, error.StatusCode, error.IsTransient));
    }

    [Fact]
    public async Task A_response_slower_than_the_timeout_is_abandoned_and_retried()
    {
        // Given a server whose first answer takes 5 s, and a 0.5 s timeout
        using var client = TeacherClients.Create(Compatible(timeoutSeconds: 0.5));
        _server.Handler = async (r, attempt, c) =>
        {
            if (attempt == 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), c.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }
            await TeacherServer.Completion(c, "fast");
        };

        // When
        var clock = Stopwatch.StartNew();
        var answer = await client.CompleteAsync("p", s_settings with { N = 1 }, CancellationToken.None);

        // Then the slow attempt was given up after the timeout
        Assert.Equal("fast", Assert.Single(answer.Texts));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"took {clock.Elapsed.TotalSeconds:F2} s");
        Assert.Equal(2, _server.Requests.Count);
    }

    [Fact]
    public async Task A_teacher_slower_than_the_timeout_on_every_attempt_fails_with_reason_timeout()
    {
        using var client = TeacherClients.Create(Compatible(maxRetries: 1, timeoutSeconds: 0.2));
        _server.Handler = (r, attempt, c) => Task.Delay(TimeSpan.FromSeconds(3), c.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);

        var error = await Assert.ThrowsAsync<TeacherRequestException>(() => client.CompleteAsync("p", s_settings, CancellationToken.None));

        Assert.Equal("timeout", error.Reason);
        Assert.Equal(2, _server.Requests.Count);
    }

    [Fact]
    public async Task Malformed_JSON_is_a_malformed_response_failure_that_is_not_retried()
    {
        using var client = TeacherClients.Create(Compatible());
        _server.Handler = (r, attempt, c) => c.Response.WriteAsync("{\"choices\": [ {\"message\": ");

        var error = await Assert.ThrowsAsync<TeacherRequestException>(() => client.CompleteAsync("p", s_settings, CancellationToken.None));

        Assert.Equal("malformed_response", error.Reason);
        Assert.Single(_server.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_content_filter_refusal_is_an_answer_with_that_finish_reason(bool promptRejected)
    {
        // Given a filter that rejects the prompt (Azure: HTTP 400, code content_filter) or the answer (finish_reason content_filter)
        using var client = TeacherClients.Create(Compatible());
        _server.Handler = (r, attempt, c) => promptRejected ? TeacherServer.Error(c, 400, "content_filter") : TeacherServer.Completion(c, "", finishReason: "content_filter");

        // When
        var answer = await client.CompleteAsync("p", s_settings, CancellationToken.None);

        // Then nothing is retried and the refusal is recognisable
        Assert.True(answer.IsContentFiltered);
        Assert.Empty(answer.Texts);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task Requests_in_flight_never_exceed_the_concurrency_bound()
    {
        // Given a slow server and a bound of 3
        using var client = TeacherClients.Create(Compatible(concurrency: 3));
        _server.Handler = async (r, attempt, c) =>
        {
            await Task.Delay(50);
            await TeacherServer.Completion(c, "ok");
        };

        // When 20 calls are started at once
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => client.CompleteAsync($"p{i}", s_settings, CancellationToken.None)));

        // Then the server never saw more than 3 at a time (and did see several)
        Assert.Equal(20, _server.Requests.Count);
        Assert.InRange(_server.MaxInFlight, 2, 3);
    }

    [Fact]
    public void A_missing_key_variable_is_one_error_naming_the_variable()
    {
        var options = Compatible() with { Kind = TeacherClientOptions.OpenAI, ApiKeyVariable = "SKIM_TEST_UNSET_" + Guid.NewGuid().ToString("N") };

        var error = Assert.Throws<SkimConfigException>(() => TeacherClients.Create(options));

        Assert.Contains(options.ApiKeyVariable!, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-test-secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Local_extractive_is_refused_when_an_endpoint_is_configured()
    {
        var options = new TeacherClientOptions { Kind = TeacherClientOptions.LocalExtractive, Endpoint = "http://127.0.0.1:1/v1" };

        var error = Assert.Throws<SkimConfigException>(() => TeacherClients.Create(options));

        Assert.Contains("local-extractive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Local_extractive_answers_lower_case_phrases_from_the_title_and_text_without_known_queries()
    {
        using var client = new LocalExtractiveTeacherClient(_ => null);
        var queries = LocalExtractiveTeacherClient.Queries("The Loire River", "The Loire is the longest river in France, flowing through Orléans and Tours.", "the loire river");

        var answer = await client.CompleteAsync("Loire longest river France", new TeacherSettings(), CancellationToken.None);

        Assert.Equal(["loire longest river", "france flowing through", "orléans tours"], queries);
        Assert.Equal("loire longest river\nfrance", Assert.Single(answer.Texts));
    }
}
