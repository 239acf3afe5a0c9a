using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly;
using Polly.Retry;
using Skim.Core;
using Skim.Generate.Step1;
using Skim.Models.Generation;

namespace Skim.Generate.Backends;

/// <summary>
/// Step-1 on an OpenAI-compatible completions server (vLLM, TGI, llama.cpp's server): one
/// <c>POST {endpoint}/completions</c> per prompt with the item's seed, at most
/// <see cref="Concurrency"/> in flight, and retries with exponential back-off on connection errors,
/// timeouts, 429, 5xx and unreadable answers. Other 4xx answers (a wrong model name, a bad key) fail
/// at once with the server's message. The API key, if the server wants one, comes from the
/// environment (OPENAI_API_KEY), never from options, so manifests hold no secret.
/// </summary>
public sealed class OpenAiCompletionsBackend : IGenerationBackend
{
    /// <summary>The environment variable holding the API key.</summary>
    public const string ApiKeyVariable = "OPENAI_API_KEY";

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _completions;
    private readonly string? _model;
    private readonly GenerationOptions _options;
    private readonly ResiliencePipeline _retry;

    /// <summary>Creates a client of the server at <paramref name="endpoint"/> (its base, e.g. <c>http://host:8000/v1</c>).</summary>
    /// <param name="endpoint">The server's API base.</param>
    /// <param name="model">The model name sent, or null to send none (servers with one model accept that).</param>
    /// <param name="options">Sampling, lengths and stops.</param>
    /// <param name="concurrency">Requests in flight at most.</param>
    /// <param name="maxRetries">Retries per request after the first try.</param>
    /// <param name="retryDelay">The first back-off delay (doubled per retry, with jitter).</param>
    /// <param name="timeout">How long one request may take.</param>
    /// <param name="http">The HTTP client to use (for tests); null makes one.</param>
    /// <exception cref="SkimConfigException">The endpoint is not an absolute http(s) URL.</exception>
    public OpenAiCompletionsBackend(string endpoint, string? model, GenerationOptions options, int concurrency = 8, int maxRetries = 5, TimeSpan? retryDelay = null, TimeSpan? timeout = null, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(concurrency);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetries);
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var baseUri) || (baseUri.Scheme != Uri.UriSchemeHttp && baseUri.Scheme != Uri.UriSchemeHttps))
        {
            throw new SkimConfigException($"endpoint: expected an http(s) URL such as http://localhost:8000/v1, found '{endpoint}'");
        }
        options.Validate();
        _completions = new Uri(baseUri.AbsoluteUri.TrimEnd('/') + "/completions");
        _model = model;
        _options = options;
        Concurrency = concurrency;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient();
        _http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        var key = Environment.GetEnvironmentVariable(ApiKeyVariable);
        if (!string.IsNullOrEmpty(key))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        _retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TransientServerException>().Handle<HttpRequestException>().Handle<TimeoutRejected>(),
                MaxRetryAttempts = Math.Max(1, maxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = retryDelay ?? TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromMinutes(1),
            })
            .Build();
        MaxRetries = maxRetries;
        Timeout = timeout ?? TimeSpan.FromMinutes(10);
        Description = string.Create(CultureInfo.InvariantCulture, $"openai {_completions.GetLeftPart(UriPartial.Authority)}{(model is null ? "" : $" model {model}")}, {concurrency} in flight");
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>Gets the number of requests in flight at most.</summary>
    public int Concurrency { get; }

    /// <summary>Gets the retries per request after the first try.</summary>
    public int MaxRetries { get; }

    /// <summary>Gets how long one request may take.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Makes the engine step-1's options describe.</summary>
    /// <exception cref="SkimConfigException">No endpoint is given.</exception>
    public static IGenerationBackend FromStep1Options(Step1Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Endpoint))
        {
            throw new SkimConfigException("endpoint: the openai backend needs the server's URL, e.g. --endpoint http://localhost:8000/v1");
        }
        return new OpenAiCompletionsBackend(options.Endpoint, options.ServedModel, options.Generation(), options.Concurrency);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<BackendOutput>> GenerateAsync(IReadOnlyList<BackendRequest> batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var outputs = new BackendOutput[batch.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, batch.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = ct },
            async (i, token) => outputs[i] = await CompleteAsync(batch[i], token).ConfigureAwait(false)).ConfigureAwait(false);
        return outputs;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<BackendOutput> CompleteAsync(BackendRequest request, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["prompt"] = request.Prompt,
            ["max_tokens"] = _options.MaxNewTokens,
            ["temperature"] = _options.Temperature,
            ["top_p"] = _options.TopP,
            ["seed"] = request.Seed,
            ["n"] = 1,
        };
        if (_model is not null)
        {
            body["model"] = _model;
        }
        if (_options.TopK > 0)
        {
            // Not in OpenAI's schema, but vLLM, TGI and llama.cpp's server read it.
            body["top_k"] = _options.TopK;
        }
        if (_options.StopStrings.Count > 0)
        {
            body["stop"] = new JsonArray([.. _options.StopStrings.Select(s => (JsonNode?)JsonValue.Create(s))]);
        }
        var json = body.ToJsonString(s_json);
        try
        {
            return await _retry.ExecuteAsync(async token => await SendAsync(request.Item, json, token).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TransientServerException or HttpRequestException or TimeoutRejected)
        {
            throw new SkimException($"{_completions}: item {request.Item}: no answer after {MaxRetries + 1} tries: {e.Message}", e);
        }
    }

    private async Task<BackendOutput> SendAsync(long item, string json, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        try
        {
            using var content = new StringContent(json, Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync(_completions, content, timeout.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500)
            {
                throw new TransientServerException($"HTTP {(int)response.StatusCode}: {Shorten(text)}");
            }
            if (!response.IsSuccessStatusCode)
            {
                throw new SkimException($"{_completions}: HTTP {(int)response.StatusCode}: {Shorten(text)}");
            }
            return Parse(item, text);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutRejected($"no answer within {Timeout.TotalSeconds:F0} s");
        }
    }

    private static BackendOutput Parse(long item, string text)
    {
        try
        {
            var root = JsonNode.Parse(text) as JsonObject ?? throw new TransientServerException("expected a JSON object");
            var choice = (root["choices"] as JsonArray)?.FirstOrDefault() as JsonObject
                ?? throw new TransientServerException($"expected choices[0] in the answer: {Shorten(text)}");
            var generated = choice["text"]?.GetValue<string>() ?? throw new TransientServerException($"expected choices[0].text in the answer: {Shorten(text)}");
            var finish = choice["finish_reason"]?.GetValue<string>() == "length" ? "length" : "stop";
            var usage = root["usage"] as JsonObject;
            var promptTokens = usage?["prompt_tokens"]?.GetValue<int>() ?? 0;
            var completionTokens = usage?["completion_tokens"]?.GetValue<int>() ?? 0;
            return new BackendOutput(item, generated, promptTokens, completionTokens, finish);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new TransientServerException($"unreadable answer ({e.Message.Split('\n')[0]}): {Shorten(text)}");
        }
    }

    private static string Shorten(string text)
    {
        var flat = text.ReplaceLineEndings(" ");
        return flat.Length <= 200 ? flat : flat[..200] + "...";
    }

    /// <summary>A failure worth another try: 429, 5xx, an unreadable answer.</summary>
    private sealed class TransientServerException(string message) : Exception(message);

    /// <summary>A request that took longer than <see cref="Timeout"/>.</summary>
    private sealed class TimeoutRejected(string message) : Exception(message);
}
