using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI.Chat;

namespace Skim.Distill.Teachers;

/// <summary>
/// Shared part of the teachers reached through the OpenAI package's <see cref="ChatClient"/>
/// (OpenAI itself, and Azure OpenAI through Azure.AI.OpenAI's subclass of it): authentication,
/// routing and the api-version query are the package's; the request body is ours, sent through the
/// client's protocol method, because the typed options of OpenAI 2.1.0 cannot ask for <c>n</c>
/// completions. The package's own retries are switched off: Polly owns them.
/// </summary>
public abstract class SdkTeacherClient : TeacherClientBase
{
    /// <summary>Creates the base.</summary>
    protected SdkTeacherClient(TeacherClientOptions options)
        : base(options)
    {
    }

    /// <summary>Gets the chat client requests go through.</summary>
    protected abstract ChatClient Chat { get; }

    /// <summary>Gets the model name written in the body, or null (Azure routes by deployment).</summary>
    protected abstract string? BodyModel { get; }

    /// <summary>Pipeline options both packages share: no package retries, and a network timeout the per-attempt timeout always beats.</summary>
    protected static void Configure(ClientPipelineOptions pipeline, TeacherClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        pipeline.RetryPolicy = new ClientRetryPolicy(maxRetries: 0);
        pipeline.NetworkTimeout = TimeSpan.FromSeconds((options.TimeoutSeconds * 2) + 5);
    }

    /// <summary>Reads the API key from its environment variable (checked to be set by <see cref="TeacherClientOptions.Validate"/>).</summary>
    protected static ApiKeyCredential Key(TeacherClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var variable = options.EffectiveApiKeyVariable!;
        var key = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(key)
            ? throw new Core.SkimConfigException($"api_key_variable: the environment variable {variable} holding the {options.Kind} teacher's API key is not set")
            : new ApiKeyCredential(key);
    }

    /// <inheritdoc/>
    protected override async Task<TeacherAnswer> SendOnceAsync(string prompt, TeacherSettings settings, CancellationToken ct)
    {
        var body = BinaryData.FromString(ChatCompletionsProtocol.Body(BodyModel, prompt, settings).ToJsonString());
        var request = new RequestOptions { CancellationToken = ct, ErrorOptions = ClientErrorBehaviors.NoThrow };
        PipelineResponse response;
        try
        {
            var result = await Chat.CompleteChatAsync(BinaryContent.Create(body), request).ConfigureAwait(false);
            response = result.GetRawResponse();
        }
        catch (ClientResultException e) when (e.Status == 0)
        {
            // No response at all: the transport failed (connection refused, reset, DNS).
            throw Unreachable(e.InnerException ?? e);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        var retryAfter = ChatCompletionsProtocol.RetryAfter(name => response.Headers.TryGetValue(name, out var value) ? value : null);
        return ChatCompletionsProtocol.Parse(response.Status, response.Content.ToString(), retryAfter);
    }
}
