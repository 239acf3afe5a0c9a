using OpenAI;
using OpenAI.Chat;

namespace Skim.Distill.Teachers;

/// <summary>The OpenAI API (or another base URL given as the endpoint) through the OpenAI 2.x package.</summary>
public sealed class OpenAITeacherClient : SdkTeacherClient
{
    private readonly ChatClient _chat;

    /// <summary>Creates the client; the key is read from the environment here.</summary>
    public OpenAITeacherClient(TeacherClientOptions options)
        : base(options)
    {
        var clientOptions = new OpenAIClientOptions();
        if (options.Endpoint is not null)
        {
            clientOptions.Endpoint = new Uri(options.Endpoint);
        }
        Configure(clientOptions, options);
        _chat = new ChatClient(options.Model!, Key(options), clientOptions);
    }

    /// <inheritdoc/>
    public override string Kind => TeacherClientOptions.OpenAI;

    /// <inheritdoc/>
    public override string Model => Options.Model!;

    /// <inheritdoc/>
    protected override ChatClient Chat => _chat;

    /// <inheritdoc/>
    protected override string? BodyModel => Options.Model;
}
