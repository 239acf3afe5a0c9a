using Skim.Core.Datasets;
using Skim.Core.Formats.Corpus;
using Skim.Core.Sparse;

namespace Skim.Distill.Items;

/// <summary>
/// Builds the items prompts are written for, from a dataset, in the orientation of the SKIM run:
/// query-side, one item per label (the page, with the training queries already known to reach it);
/// label-side, one item per training document (the article, with the labels it already has).
/// Step-0 samples from these items and step-1 writes a prompt for every one, with the same fields.
/// </summary>
/// <remarks>
/// Field names, which pipelines map onto template placeholders: <c>uid</c>, <c>title</c>,
/// <c>content</c>, <c>text</c> (title and content as a model sees them, or whichever is not empty),
/// <c>url</c> (the uid: SKIM's ORCAS prompts show the page URL, which is its uid there), and
/// <c>known_queries</c> (query-side: the texts of train points with the label; label-side: the texts
/// of the document's labels; one per line, at most <see cref="PromptItemsOptions.MaxKnownQueries"/>).
/// </remarks>
public static class PromptItems
{
    /// <summary>The identifier field.</summary>
    public const string UidField = "uid";

    /// <summary>The title field.</summary>
    public const string TitleField = "title";

    /// <summary>The content field.</summary>
    public const string ContentField = "content";

    /// <summary>The full-text field (title and content).</summary>
    public const string TextField = "text";

    /// <summary>The URL field (the uid).</summary>
    public const string UrlField = "url";

    /// <summary>The known queries (query-side) or known labels (label-side), one per line.</summary>
    public const string KnownQueriesField = "known_queries";

    /// <summary>Gets every field name an item has.</summary>
    public static IReadOnlyList<string> FieldNames { get; } = [UidField, TitleField, ContentField, TextField, UrlField, KnownQueriesField];

    /// <summary>Builds every item of <paramref name="dataset"/> in <paramref name="orientation"/>, in index order.</summary>
    public static IReadOnlyList<PromptItem> FromDataset(XcDataset dataset, MappingOrientation orientation, PromptItemsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        options ??= new PromptItemsOptions();
        var labels = dataset.RecordsFor(XcDataset.LabelSplit);
        var train = dataset.RecordsFor(XcDataset.TrainSplit);
        return orientation == MappingOrientation.QuerySide
            // Item = label; its known queries are the train points the observed matrix links to it.
            ? Build(labels, dataset.TrainLabels.Transpose(), train, options.MaxKnownQueries)
            // Item = train document; its known "queries" are the labels it already has.
            : Build(train, dataset.TrainLabels, labels, options.MaxKnownQueries);
    }

    private static List<PromptItem> Build(IReadOnlyList<XcCorpusRecord> items, CsrMatrix known, IReadOnlyList<XcCorpusRecord> knownTexts, int maxKnown)
    {
        var result = new List<PromptItem>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var record = items[i];
            var row = known.RowIndices(i);
            var queries = new List<string>(Math.Min(row.Length, maxKnown));
            foreach (var j in row)
            {
                if (queries.Count == maxKnown)
                {
                    break;
                }
                queries.Add(OneLine(knownTexts[j].Text));
            }
            var fields = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [UidField] = record.Uid,
                [TitleField] = record.Title,
                [ContentField] = record.Content,
                [TextField] = record.Text,
                [UrlField] = record.Uid,
                [KnownQueriesField] = string.Join('\n', queries),
            };
            result.Add(new PromptItem(i, record.Uid, fields));
        }
        return result;
    }

    // A known query is one line of the prompt's list, so line breaks inside it become spaces.
    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
}

/// <summary>Options of <see cref="PromptItems.FromDataset"/>.</summary>
public sealed record PromptItemsOptions
{
    /// <summary>Gets the most known queries (or labels) listed per item. Defaults to 10.</summary>
    public int MaxKnownQueries { get; init; } = 10;
}
