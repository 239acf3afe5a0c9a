using Azure.AI.OpenAI;
using OpenAI.Chat;

namespace Skim.Distill.Teachers;

/// <summary>
/// Azure OpenAI through Azure.AI.OpenAI 2.1.0: <c>POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...</c>
/// with the <c>api-key</c> header.
/// </summary>
public sealed class AzureTeacherClient : SdkTeacherClient
{
    private readonly ChatClient _chat;

    /// <summary>Creates the client; the key is read from the environment here.</summary>
    public AzureTeacherClient(TeacherClientOptions options)
        : base(options)
    {
        var clientOptions = new AzureOpenAIClientOptions(ParseVersion(options.ApiVersion) ?? throw new Core.SkimConfigException($"api_version: expected {string.Join(" or ", Versions)}, found '{options.ApiVersion}'"));
        Configure(clientOptions, options);
        var azure = new AzureOpenAIClient(new Uri(options.Endpoint!), Key(options), clientOptions);
        _chat = azure.GetChatClient(options.Deployment!);
    }

    /// <summary>Gets the API versions Azure.AI.OpenAI 2.1.0 can speak.</summary>
    public static IReadOnlyList<string> Versions { get; } = ["2024-10-21", "2024-06-01"];

    /// <inheritdoc/>
    public override string Kind => TeacherClientOptions.Azure;

    /// <inheritdoc/>
    public override string Model => Options.Model ?? Options.Deployment!;

    /// <inheritdoc/>
    protected override ChatClient Chat => _chat;

    /// <inheritdoc/>
    protected override string? BodyModel => null;

    /// <summary>Maps an API version string onto the package's enum, or null when the package does not speak it.</summary>
    public static AzureOpenAIClientOptions.ServiceVersion? ParseVersion(string? version) => version switch
    {
        "2024-10-21" => AzureOpenAIClientOptions.ServiceVersion.V2024_10_21,
        "2024-06-01" => AzureOpenAIClientOptions.ServiceVersion.V2024_06_01,
        _ => null,
    };
}
