using System.Net.Http.Headers;
using System.Text;

namespace Skim.Distill.Teachers;

/// <summary>
/// A teacher on any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, TGI): <c>POST
/// {endpoint}/chat/completions</c> with plain <see cref="HttpClient"/> and System.Text.Json.
/// </summary>
/// <remarks>
/// Not the OpenAI package: its client insists on a credential and would send a made-up bearer
/// token to servers that run without keys, and its typed options (2.1.0) cannot ask for <c>n</c>
/// completions. The JSON is the same as the other teachers' (<see cref="ChatCompletionsProtocol"/>).
/// </remarks>
public sealed class CompatibleTeacherClient : TeacherClientBase
{
    private readonly HttpClient _http;
    private readonly Uri _route;
    private readonly string _model;

    /// <summary>Creates the client; the API key, when a variable is configured, is read from the environment here.</summary>
    public CompatibleTeacherClient(TeacherClientOptions options, HttpMessageHandler? handler = null)
        : base(options)
    {
        _model = options.Model!;
        _route = new Uri(options.Endpoint!.TrimEnd('/') + "/chat/completions");
        // Timeouts belong to the resilience pipeline (per attempt), not to HttpClient.
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = Timeout.InfiniteTimeSpan;
        if (options.EffectiveApiKeyVariable is { } variable && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } key)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    /// <inheritdoc/>
    public override string Kind => TeacherClientOptions.Compatible;

    /// <inheritdoc/>
    public override string Model => _model;

    /// <inheritdoc/>
    protected override async Task<TeacherAnswer> SendOnceAsync(string prompt, TeacherSettings settings, CancellationToken ct)
    {
        var body = ChatCompletionsProtocol.Body(_model, prompt, settings).ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, _route) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        using (response)
        {
            string text;
            try
            {
                text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new TeacherRequestException("dropped", $"the connection dropped while reading the answer: {e.Message}", (int)response.StatusCode, transient: true, inner: e);
            }
            return ChatCompletionsProtocol.Parse((int)response.StatusCode, text, ChatCompletionsProtocol.RetryAfter(response.Headers));
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _http.Dispose();
        }
        base.Dispose(disposing);
    }
}
