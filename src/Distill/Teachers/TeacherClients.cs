using Skim.Distill.Items;

namespace Skim.Distill.Teachers;

/// <summary>Creates the teacher client <see cref="TeacherClientOptions.Kind"/> names.</summary>
public static class TeacherClients
{
    /// <summary>Creates the client (validating <paramref name="options"/> first).</summary>
    /// <param name="options">The teacher and its limits.</param>
    /// <param name="itemOf">For local-extractive: finds the item of a rendered prompt.</param>
    /// <exception cref="Core.SkimConfigException">An option is invalid or the key variable is not set.</exception>
    public static ITeacherClient Create(TeacherClientOptions options, Func<string, PromptItem?>? itemOf = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options.Kind switch
        {
            TeacherClientOptions.Azure => new AzureTeacherClient(options),
            TeacherClientOptions.OpenAI => new OpenAITeacherClient(options),
            TeacherClientOptions.Compatible => new CompatibleTeacherClient(options),
            _ => new LocalExtractiveTeacherClient(itemOf ?? (_ => null)),
        };
    }
}
