using Skim.Core;

namespace Skim.Generate.PostProcessing;

/// <summary>How <see cref="QueryExtractor"/> turns a generated text into an item's synthetic queries.</summary>
public sealed record QueryExtractionOptions
{
    /// <summary>Gets the most characters a query may have (after whitespace is normalised); longer ones are dropped. Defaults to 200.</summary>
    public int MaxQueryLength { get; init; } = 200;

    /// <summary>Gets the most queries kept per item, in the order generated; 0 keeps all. Defaults to 0.</summary>
    public int MaxQueriesPerItem { get; init; }

    /// <summary>
    /// Gets the section headers of the template's answer (e.g. "Immediate categories:", "Parent
    /// categories:"): lines equal to one are dropped, and one that starts a line is cut from it.
    /// Lines ending in ':' and Markdown headings ("### ...") count as headers too. Defaults to none.
    /// </summary>
    public IReadOnlyList<string> Headers { get; init; } = [];

    /// <summary>Gets whether the last line of a text cut by the length limit (finish reason "length") is dropped as a query cut off mid-way. Defaults to true.</summary>
    public bool DropTruncatedLastLine { get; init; } = true;

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (MaxQueryLength < 1)
        {
            throw new SkimConfigException($"max_query_length: expected a positive number of characters, found {MaxQueryLength}");
        }
        if (MaxQueriesPerItem < 0)
        {
            throw new SkimConfigException($"max_queries_per_item: expected 0 (no cap) or a positive number, found {MaxQueriesPerItem}");
        }
    }
}
