using Skim.Core;

namespace Skim.Distill.Teachers;

/// <summary>Which teacher to call and how hard (see <see cref="TeacherClients.Create"/>).</summary>
public sealed record TeacherClientOptions
{
    /// <summary>Teacher kind: Azure OpenAI.</summary>
    public const string Azure = "azure";

    /// <summary>Teacher kind: OpenAI's API.</summary>
    public const string OpenAI = "openai";

    /// <summary>Teacher kind: any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, TGI).</summary>
    public const string Compatible = "compatible";

    /// <summary>Teacher kind: deterministic queries from the item's own metadata, no LLM (demos and tests).</summary>
    public const string LocalExtractive = "local-extractive";

    /// <summary>Gets every teacher kind.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [Azure, OpenAI, Compatible, LocalExtractive];

    /// <summary>Gets the teacher kind (azure, openai, compatible, local-extractive).</summary>
    public required string Kind { get; init; }

    /// <summary>Gets the endpoint: the Azure resource URL, an OpenAI-compatible base URL ending in <c>/v1</c>, or null for OpenAI's own. Defaults to null.</summary>
    public string? Endpoint { get; init; }

    /// <summary>Gets the model name (for azure, defaults to the deployment). Defaults to null.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the Azure deployment. Defaults to null.</summary>
    public string? Deployment { get; init; }

    /// <summary>Gets the Azure API version (2024-10-21 or 2024-06-01: the versions Azure.AI.OpenAI 2.1.0 speaks). Defaults to 2024-10-21.</summary>
    public string ApiVersion { get; init; } = "2024-10-21";

    /// <summary>Gets the environment variable holding the API key. Defaults to null: OPENAI_API_KEY (openai), AZURE_OPENAI_API_KEY (azure), no key (compatible: local servers rarely need one).</summary>
    public string? ApiKeyVariable { get; init; }

    /// <summary>Gets the most requests in flight. Defaults to 8.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Gets the most requests started per minute, 0 for no limit. Defaults to 0.</summary>
    public int RequestsPerMinute { get; init; }

    /// <summary>Gets the most tokens (prompt estimate plus max_tokens × n) per minute, 0 for no limit. Defaults to 0.</summary>
    public int TokensPerMinute { get; init; }

    /// <summary>Gets the time one attempt may take before it is abandoned and retried. Defaults to 60 s.</summary>
    public double TimeoutSeconds { get; init; } = 60;

    /// <summary>Gets the retries after the first attempt on 429, 5xx, timeouts and dropped connections. Defaults to 6.</summary>
    public int MaxRetries { get; init; } = 6;

    /// <summary>Gets the first retry's base delay; later ones double it, with jitter (a server's Retry-After wins). Defaults to 1 s.</summary>
    public double RetryDelaySeconds { get; init; } = 1;

    /// <summary>Gets the API-key variable in effect for the kind (null when a compatible server needs none).</summary>
    public string? EffectiveApiKeyVariable => ApiKeyVariable ?? Kind switch
    {
        Azure => "AZURE_OPENAI_API_KEY",
        OpenAI => "OPENAI_API_KEY",
        _ => null,
    };

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option (the key variable is checked too: set, not its value).</summary>
    public void Validate()
    {
        if (!Kinds.Contains(Kind, StringComparer.Ordinal))
        {
            throw new SkimConfigException($"teacher: expected one of {string.Join(", ", Kinds)}, found '{Kind}'");
        }
        if (Kind == LocalExtractive)
        {
            if (Endpoint is not null)
            {
                throw new SkimConfigException($"teacher: local-extractive writes queries without an LLM and is never used with an endpoint (endpoint: {Endpoint}); choose compatible, openai or azure");
            }
            return;
        }
        if (Endpoint is not null && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            throw new SkimConfigException($"endpoint: expected an http(s) URL, found '{Endpoint}'");
        }
        switch (Kind)
        {
            case Compatible when Endpoint is null:
                throw new SkimConfigException("endpoint: the compatible teacher needs the server's base URL (e.g. http://localhost:8000/v1)");
            case Compatible or OpenAI when string.IsNullOrWhiteSpace(Model):
                throw new SkimConfigException($"model: the {Kind} teacher needs a model name");
            case Azure when Endpoint is null:
                throw new SkimConfigException("endpoint: the azure teacher needs the resource URL (https://NAME.openai.azure.com)");
            case Azure when string.IsNullOrWhiteSpace(Deployment):
                throw new SkimConfigException("deployment: the azure teacher needs a deployment name");
            case Azure when AzureTeacherClient.ParseVersion(ApiVersion) is null:
                throw new SkimConfigException($"api_version: expected {string.Join(" or ", AzureTeacherClient.Versions)}, found '{ApiVersion}'");
        }
        if (Concurrency < 1)
        {
            throw new SkimConfigException($"concurrency: expected at least 1 request in flight, found {Concurrency}");
        }
        if (RequestsPerMinute < 0 || TokensPerMinute < 0)
        {
            throw new SkimConfigException($"requests_per_minute / tokens_per_minute: expected 0 (no limit) or a positive number, found {RequestsPerMinute} / {TokensPerMinute}");
        }
        if (!(TimeoutSeconds > 0))
        {
            throw new SkimConfigException($"timeout_seconds: expected a positive number of seconds, found {TimeoutSeconds}");
        }
        if (MaxRetries < 0)
        {
            throw new SkimConfigException($"max_retries: expected 0 or more, found {MaxRetries}");
        }
        if (!(RetryDelaySeconds >= 0))
        {
            throw new SkimConfigException($"retry_delay_seconds: expected 0 or more seconds, found {RetryDelaySeconds}");
        }
        var variable = EffectiveApiKeyVariable;
        if (variable is not null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
        {
            throw new SkimConfigException($"api_key_variable: the environment variable {variable} holding the {Kind} teacher's API key is not set");
        }
    }
}
