using Skim.Generate.PostProcessing;

namespace Skim.Generate.Tests.PostProcessing;

public sealed class QueryExtractorTests
{
    private static readonly QueryExtractionOptions s_defaults = new();

    [Fact]
    public void Lines_bullets_and_numbering_are_split_into_queries()
    {
        // Given an answer mixing plain lines, the bullets -, *, •, + and the numberings 1. 2) (3)
        var text = "plain query\n- dash query\n* star query\n• dot query\n•glued dot\n+ plus query\n1. numbered query\n2) paren query\n(3) bracket query\n";

        // When it is split
        var counts = new QueryExtractionCounts();
        var queries = QueryExtractor.Extract(text, [], truncated: false, s_defaults, counts);

        // Then every line is a query without its marker, in order, and nothing was dropped
        Assert.Equal(["plain query", "dash query", "star query", "dot query", "glued dot", "plus query", "numbered query", "paren query", "bracket query"], queries);
        Assert.Equal(9, counts.Kept);
        Assert.All(counts.DroppedByReason(), d => Assert.Equal(0, d.Count));
    }

    [Fact]
    public void Numbers_that_belong_to_the_query_are_kept()
    {
        // Given queries that start with a number but no list marker
        var queries = QueryExtractor.Extract("1.5 inch pipe\n2024 tax forms\n", [], false, s_defaults, new QueryExtractionCounts());

        // Then they stay whole
        Assert.Equal(["1.5 inch pipe", "2024 tax forms"], queries);
    }

    [Fact]
    public void White_space_is_normalised_and_blank_lines_are_layout_not_drops()
    {
        // Given runs of spaces and tabs, a carriage return, and blank lines
        var counts = new QueryExtractionCounts();
        var queries = QueryExtractor.Extract("  rivers \t of   france \r\n\n\n-   \nlakes\n", [], false, s_defaults, counts);

        // Then spaces collapse, blank lines are skipped silently, and a bare bullet counts as empty
        Assert.Equal(["rivers of france", "lakes"], queries);
        Assert.Equal(1, counts.Dropped(QueryDropReason.Empty));
    }

    [Fact]
    public void Template_headers_are_dropped_or_cut_from_the_line_they_start()
    {
        // Given the category template's headers, found in its text
        var template = File.ReadAllText(Path.Combine(PythonReference.RepositoryRoot, "prompts", "category-generation.txt"));
        var headers = QueryExtractor.HeadersOf(template);
        var options = new QueryExtractionOptions { Headers = headers };
        var text = "Immediate categories:\nRivers of France\nimmediate categories\nParent categories: Rivers of Europe\n### Notes\nSee also:\nGeography of France\n";

        // When the answer is split
        var counts = new QueryExtractionCounts();
        var queries = QueryExtractor.Extract(text, [], false, options, counts);

        // Then both headers were found in the template, header lines are dropped, and a header's inline query kept
        Assert.Equal(["Immediate categories:", "Parent categories:"], headers);
        Assert.Equal(["Rivers of France", "Rivers of Europe", "Geography of France"], queries);
        Assert.Equal(4, counts.Dropped(QueryDropReason.Header));
    }

    [Fact]
    public void Over_long_queries_are_dropped()
    {
        var counts = new QueryExtractionCounts();
        var queries = QueryExtractor.Extract("short\n" + new string('x', 21) + "\n" + new string('y', 20) + "\n", [], false, new QueryExtractionOptions { MaxQueryLength = 20 }, counts);

        Assert.Equal(["short", new string('y', 20)], queries);
        Assert.Equal(1, counts.Dropped(QueryDropReason.TooLong));
    }

    [Fact]
    public void Repeats_are_dropped_case_insensitively_keeping_the_first_spelling()
    {
        var counts = new QueryExtractionCounts();
        var queries = QueryExtractor.Extract("Cheap Flights\ncheap  flights\n- CHEAP FLIGHTS\nflights\n", [], false, s_defaults, counts);

        Assert.Equal(["Cheap Flights", "flights"], queries);
        Assert.Equal(2, counts.Dropped(QueryDropReason.Duplicate));
    }

    [Fact]
    public void Copies_of_the_items_known_queries_are_dropped()
    {
        var counts = new QueryExtractionCounts();
        var queries = QueryExtractor.Extract("python list files\nPython  List Files\nbash list files\n", ["python list files", "  "], false, s_defaults, counts);

        Assert.Equal(["bash list files"], queries);
        Assert.Equal(2, counts.Dropped(QueryDropReason.KnownQuery));
    }

    [Fact]
    public void The_cap_keeps_the_first_queries_and_counts_the_rest()
    {
        var counts = new QueryExtractionCounts();
        var queries = QueryExtractor.Extract("a\nb\nc\nd\n", [], false, new QueryExtractionOptions { MaxQueriesPerItem = 2 }, counts);

        Assert.Equal(["a", "b"], queries);
        Assert.Equal(2, counts.Dropped(QueryDropReason.OverCap));
        Assert.Equal(2, counts.Kept);
    }

    [Fact]
    public void The_last_line_of_a_text_cut_by_the_length_limit_is_dropped_unless_it_ended()
    {
        // Given the same text cut mid-query, and ended by a line break
        var cut = new QueryExtractionCounts();
        var ended = new QueryExtractionCounts();
        var kept = new QueryExtractionCounts();

        // When both are split as truncated, and the cut one again with the rule off
        var fromCut = QueryExtractor.Extract("first query\nsecond que", [], truncated: true, s_defaults, cut);
        var fromEnded = QueryExtractor.Extract("first query\nsecond query\n", [], truncated: true, s_defaults, ended);
        var fromKept = QueryExtractor.Extract("first query\nsecond que", [], truncated: true, s_defaults with { DropTruncatedLastLine = false }, kept);

        // Then only the cut-off line is dropped, and only when the rule is on
        Assert.Equal(["first query"], fromCut);
        Assert.Equal(1, cut.Dropped(QueryDropReason.Truncated));
        Assert.Equal(["first query", "second query"], fromEnded);
        Assert.Equal(["first query", "second que"], fromKept);
    }

    [Fact]
    public void Out_of_range_limits_are_refused_by_name()
    {
        var tooShort = Assert.Throws<Skim.Core.SkimConfigException>(() => new QueryExtractionOptions { MaxQueryLength = 0 }.Validate());
        var negative = Assert.Throws<Skim.Core.SkimConfigException>(() => new QueryExtractionOptions { MaxQueriesPerItem = -1 }.Validate());

        Assert.StartsWith("max_query_length:", tooShort.Message, StringComparison.Ordinal);
        Assert.StartsWith("max_queries_per_item:", negative.Message, StringComparison.Ordinal);
    }
}
