using Skim.Core;

namespace Skim.Distill.Prompts;

/// <summary>How <see cref="PromptTemplate.Render"/> fills a template.</summary>
public sealed record PromptTemplateOptions
{
    /// <summary>
    /// Gets the most characters a field value may contribute; longer values are cut (at a character
    /// boundary that never splits a surrogate pair), as SKIM cuts webpage text before tokenising.
    /// Null leaves values whole. Defaults to 7500.
    /// </summary>
    public int? MaxFieldLength { get; init; } = 7500;

    /// <summary>Gets whether leading and trailing white space is removed from each field value before cutting. Defaults to true.</summary>
    public bool TrimWhiteSpace { get; init; } = true;

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (MaxFieldLength is < 1)
        {
            throw new SkimConfigException($"max_field_length: expected a positive number of characters or none, found {MaxFieldLength}");
        }
    }
}
