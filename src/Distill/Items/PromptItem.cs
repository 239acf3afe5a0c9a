namespace Skim.Distill.Items;

/// <summary>
/// One item a prompt is written for: a label (query-side) or a training document (label-side),
/// with the named text fields a template's placeholders are filled from.
/// </summary>
/// <param name="Index">The item's index: the label column (query-side) or the train row (label-side).</param>
/// <param name="Uid">The item's identifier in the dataset.</param>
/// <param name="Fields">Field name → text (see <see cref="PromptItems"/> for the names).</param>
public sealed record PromptItem(int Index, string Uid, IReadOnlyDictionary<string, string> Fields)
{
    /// <summary>Gets whether the item has text beyond its identifier (items without it are skipped and counted).</summary>
    public bool HasMetadata => Fields.TryGetValue(PromptItems.TextField, out var text) && !string.IsNullOrWhiteSpace(text);
}
