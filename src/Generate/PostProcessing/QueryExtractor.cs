using System.Text;
using System.Text.RegularExpressions;

namespace Skim.Generate.PostProcessing;

/// <summary>Why a line of a generated text did not become a query.</summary>
public enum QueryDropReason
{
    /// <summary>Nothing left after bullets, numbering and white space were removed.</summary>
    Empty,

    /// <summary>A section header of the answer (a template header, a line ending in ':', a Markdown heading).</summary>
    Header,

    /// <summary>The last line of a text cut by the length limit: a query cut off mid-way.</summary>
    Truncated,

    /// <summary>Longer than <see cref="QueryExtractionOptions.MaxQueryLength"/>.</summary>
    TooLong,

    /// <summary>A copy of one of the item's given (known) queries.</summary>
    KnownQuery,

    /// <summary>A repeat of a query already kept for the item (case-insensitive).</summary>
    Duplicate,

    /// <summary>Beyond <see cref="QueryExtractionOptions.MaxQueriesPerItem"/>.</summary>
    OverCap,
}

/// <summary>Counts of kept queries and of dropped lines by reason, added up over items.</summary>
public sealed class QueryExtractionCounts
{
    private readonly long[] _dropped = new long[Enum.GetValues<QueryDropReason>().Length];

    /// <summary>Gets the number of queries kept.</summary>
    public long Kept { get; private set; }

    /// <summary>Gets the number of lines dropped for <paramref name="reason"/>.</summary>
    public long Dropped(QueryDropReason reason) => _dropped[(int)reason];

    /// <summary>Gets every reason with its count, in the enum's order.</summary>
    public IEnumerable<(QueryDropReason Reason, long Count)> DroppedByReason() =>
        Enum.GetValues<QueryDropReason>().Select(r => (r, _dropped[(int)r]));

    /// <summary>Gets the snake_case name of a reason, as summaries write it.</summary>
    public static string Name(QueryDropReason reason) => reason switch
    {
        QueryDropReason.Empty => "empty",
        QueryDropReason.Header => "header",
        QueryDropReason.Truncated => "truncated",
        QueryDropReason.TooLong => "too_long",
        QueryDropReason.KnownQuery => "known_query",
        QueryDropReason.Duplicate => "duplicate",
        QueryDropReason.OverCap => "over_cap",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    internal void Keep() => Kept++;

    internal void Drop(QueryDropReason reason) => _dropped[(int)reason]++;
}

/// <summary>
/// Splits an SLM's answer into synthetic queries, one per line: bullets ("-", "*", "•", "+") and
/// numbering ("1.", "1)", "(1)") are removed, section headers dropped, white space normalised;
/// then empty, over-long, truncated, known and repeated queries are dropped and the rest capped,
/// each drop counted by reason.
/// </summary>
public static partial class QueryExtractor
{
    /// <summary>
    /// Returns the queries of one item's generated <paramref name="text"/>, in the order written.
    /// </summary>
    /// <param name="text">The generated text.</param>
    /// <param name="knownQueries">The item's given queries (what the prompt listed), which are not new.</param>
    /// <param name="truncated">Whether generation stopped at the length limit (so the last line may be cut off).</param>
    /// <param name="options">Limits and headers.</param>
    /// <param name="counts">Where kept and dropped lines are counted.</param>
    public static IReadOnlyList<string> Extract(string text, IEnumerable<string> knownQueries, bool truncated, QueryExtractionOptions options, QueryExtractionCounts counts)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(knownQueries);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(counts);
        var known = knownQueries.Select(Key).Where(k => k.Length > 0).ToHashSet(StringComparer.Ordinal);
        var headers = options.Headers.Select(h => Key(h).TrimEnd(':').TrimEnd()).Where(h => h.Length > 0).ToArray();
        var lines = text.Split('\n');
        // A cut-off query is the last line with text when the text does not end its line.
        var lastWithText = Array.FindLastIndex(lines, l => !string.IsNullOrWhiteSpace(l));
        var cutOff = truncated && options.DropTruncatedLastLine && lastWithText >= 0 && !text.EndsWith('\n');
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queries = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var query = Clean(lines[i], headers, out var isHeader);
            if (isHeader)
            {
                counts.Drop(QueryDropReason.Header);
                continue;
            }
            if (query.Length == 0)
            {
                // Blank lines between items of a list are layout; only lines that had something count.
                if (!string.IsNullOrWhiteSpace(lines[i]))
                {
                    counts.Drop(QueryDropReason.Empty);
                }
                continue;
            }
            var reason = cutOff && i == lastWithText ? QueryDropReason.Truncated
                : query.Length > options.MaxQueryLength ? QueryDropReason.TooLong
                : known.Contains(Key(query)) ? QueryDropReason.KnownQuery
                : !seen.Add(Key(query)) ? QueryDropReason.Duplicate
                : options.MaxQueriesPerItem > 0 && queries.Count >= options.MaxQueriesPerItem ? QueryDropReason.OverCap
                : (QueryDropReason?)null;
            if (reason is { } dropped)
            {
                counts.Drop(dropped);
                continue;
            }
            counts.Keep();
            queries.Add(query);
        }
        return queries;
    }

    /// <summary>
    /// Finds the section headers a template asks the model to write: quoted phrases ending in ':'
    /// (e.g. <c>Write the line "Immediate categories:" before the first list</c>).
    /// </summary>
    public static IReadOnlyList<string> HeadersOf(string templateText)
    {
        ArgumentNullException.ThrowIfNull(templateText);
        return [.. QuotedHeader().Matches(templateText).Select(m => m.Groups[1].Value.Trim()).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Collapses runs of white space to one space and trims (how queries are compared and written).</summary>
    public static string NormalizeWhiteSpace(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = result.Length > 0;
                continue;
            }
            if (space)
            {
                result.Append(' ');
                space = false;
            }
            result.Append(c);
        }
        return result.ToString();
    }

    // The comparison key of a query: normalised white space, case folded.
    private static string Key(string query) => NormalizeWhiteSpace(query).ToLowerInvariant();

    private static string Clean(string line, string[] headers, out bool isHeader)
    {
        isHeader = false;
        var text = NormalizeWhiteSpace(line);
        if (text.StartsWith('#'))
        {
            isHeader = true;
            return "";
        }
        text = ListMarker().Replace(text, "", 1);
        foreach (var header in headers)
        {
            if (text.StartsWith(header, StringComparison.OrdinalIgnoreCase))
            {
                var rest = text[header.Length..].TrimStart();
                if (rest.Length == 0 || rest == ":")
                {
                    isHeader = true;
                    return "";
                }
                if (rest.StartsWith(':'))
                {
                    // "Parent categories: Rivers of Europe": the query follows its header on the line.
                    text = ListMarker().Replace(rest[1..].TrimStart(), "", 1);
                }
            }
        }
        if (text.EndsWith(':'))
        {
            isHeader = true;
            return "";
        }
        return text.Trim();
    }

    // A bullet, or a number with '.' or ')' or in parentheses, followed by white space (or a bullet glued to its text).
    [GeneratedRegex(@"^(?:[-*+](?:\s+|$)|•\s*|\(\d{1,3}\)\s*|\d{1,3}[.)](?:\s+|$))")]
    private static partial Regex ListMarker();

    [GeneratedRegex("[\"“]([^\"“”\\n]{1,80}:)[\"”]")]
    private static partial Regex QuotedHeader();
}
