using Skim.Core;
using Skim.Distill.Prompts;

namespace Skim.Distill.Tests.Prompts;

public class PromptTemplateTests
{
    private static readonly Dictionary<string, string> s_orcasItem = new()
    {
        ["url"] = "https://example.org/rivers/loire",
        ["known_queries"] = "loire river\nlongest river in france",
        ["text"] = "The Loire is the longest river in France.",
    };

    [Fact]
    public void Placeholders_lists_each_field_once_in_order_of_first_use()
    {
        // Given / When
        var template = PromptTemplate.Parse("{b} and {a}, then {b} again and {c_2}", "t.txt");

        // Then
        Assert.Equal(["b", "a", "c_2"], template.Placeholders);
    }

    [Fact]
    public void Render_fills_fields_and_turns_doubled_braces_into_literal_ones()
    {
        // Given
        var template = PromptTemplate.Parse("{{\"q\": \"{query}\"}} for {name}{{}}", "t.txt");

        // When
        var text = template.Render(new Dictionary<string, string> { ["query"] = "x", ["name"] = "y" });

        // Then
        Assert.Equal("{\"q\": \"x\"} for y{}", text);
        Assert.Equal(["query", "name"], template.Placeholders);
    }

    [Fact]
    public void Render_ignores_values_the_template_does_not_use()
    {
        // Given
        var template = PromptTemplate.Parse("Title: {title}", "t.txt");

        // When
        var text = template.Render(new Dictionary<string, string> { ["title"] = "Loire", ["url"] = "unused", ["extra"] = "{x}" });

        // Then
        Assert.Equal("Title: Loire", text);
    }

    [Fact]
    public void A_missing_value_is_one_line_naming_the_template_file_and_the_placeholder()
    {
        // Given
        var template = PromptTemplate.Parse("URL {url}\nText {text}", "prompts/mine.txt");

        // When
        var error = Assert.Throws<SkimConfigException>(() => template.Render(new Dictionary<string, string> { ["url"] = "u", ["title"] = "t" }));

        // Then
        Assert.Equal("prompts/mine.txt: placeholder '{text}' has no value (values given: title, url)", error.Message);
    }

    [Fact]
    public void Values_are_trimmed_and_cut_to_the_maximum_field_length()
    {
        // Given
        var template = PromptTemplate.Parse("[{a}][{b}]", "t.txt");
        var values = new Dictionary<string, string> { ["a"] = "  abcdefgh  ", ["b"] = "xy" };

        // When
        var cut = template.Render(values, new PromptTemplateOptions { MaxFieldLength = 5 });
        var whole = template.Render(values, new PromptTemplateOptions { MaxFieldLength = null, TrimWhiteSpace = false });

        // Then
        Assert.Equal("[abcde][xy]", cut);
        Assert.Equal("[  abcdefgh  ][xy]", whole);
    }

    [Fact]
    public void The_default_cut_is_7500_characters_and_never_splits_a_surrogate_pair()
    {
        // Given a value of 7499 letters followed by an emoji (two UTF-16 units)
        var template = PromptTemplate.Parse("{text}", "t.txt");
        var value = new string('a', 7499) + "\U0001F600" + "tail";

        // When
        var text = template.Render(new Dictionary<string, string> { ["text"] = value });

        // Then the emoji is dropped whole instead of leaving half of it
        Assert.Equal(new string('a', 7499), text);
        Assert.Equal(7500, new PromptTemplateOptions().MaxFieldLength);
    }

    [Fact]
    public void A_non_positive_maximum_field_length_is_refused()
    {
        // Given
        var template = PromptTemplate.Parse("{a}", "t.txt");

        // When
        var error = Assert.Throws<SkimConfigException>(() => template.Render(new Dictionary<string, string> { ["a"] = "x" }, new PromptTemplateOptions { MaxFieldLength = 0 }));

        // Then
        Assert.Contains("max_field_length", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a } b", "line 1, column 3", "single '}'")]
    [InlineData("ok\n  {open", "line 2, column 3", "no closing '}'")]
    [InlineData("{}", "line 1, column 1", "found '{}'")]
    [InlineData("x {not a name}", "line 1, column 3", "found '{not a name}'")]
    [InlineData("{1st}", "line 1, column 1", "found '{1st}'")]
    public void Malformed_templates_are_refused_with_file_line_and_column(string text, string location, string problem)
    {
        // Given / When
        var error = Assert.Throws<SkimFormatException>(() => PromptTemplate.Parse(text, "bad.txt"));

        // Then
        Assert.Equal("bad.txt", error.Path);
        Assert.Equal(location, error.Location);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Load_reads_a_file_and_names_it_in_errors()
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("p.txt");
        File.WriteAllText(path, "Q: {q}\n");

        // When
        var template = PromptTemplate.Load(path);
        var error = Assert.Throws<SkimConfigException>(() => template.Render(new Dictionary<string, string>()));

        // Then
        Assert.Equal(path, template.Source);
        Assert.Equal($"{path}: placeholder '{{q}}' has no value (values given: none)", error.Message);
    }

    [Fact]
    public void Load_of_a_missing_file_names_the_file()
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("absent.txt");

        // When
        var error = Assert.Throws<SkimConfigException>(() => PromptTemplate.Load(path));

        // Then
        Assert.Equal($"{path}: prompt template file not found", error.Message);
    }

    [Fact]
    public void The_shipped_query_generation_template_asks_for_url_known_queries_and_text_and_ends_with_the_task_marker()
    {
        // Given
        var template = PromptTemplate.Load(Path.Combine(PythonReference.RepositoryRoot, "prompts", "query-generation.txt"));

        // When
        var prompt = template.Render(s_orcasItem);

        // Then
        Assert.Equal(["url", "known_queries", "text"], template.Placeholders);
        Assert.EndsWith("### Task Output", prompt.TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("up to 10", prompt, StringComparison.Ordinal);
        Assert.Contains("https://example.org/rivers/loire", prompt, StringComparison.Ordinal);
        Assert.Contains("longest river in france", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_category_generation_template_asks_for_title_and_text_then_immediate_and_parent_categories()
    {
        // Given
        var template = PromptTemplate.Load(Path.Combine(PythonReference.RepositoryRoot, "prompts", "category-generation.txt"));

        // When
        var prompt = template.Render(new Dictionary<string, string> { ["title"] = "Loire", ["text"] = "A river." });

        // Then
        Assert.Equal(["title", "text"], template.Placeholders);
        Assert.EndsWith("### Task Output", prompt.TrimEnd(), StringComparison.Ordinal);
        var immediate = prompt.IndexOf("immediate categories", StringComparison.OrdinalIgnoreCase);
        var parent = prompt.IndexOf("parent categories", StringComparison.OrdinalIgnoreCase);
        Assert.InRange(immediate, 0, int.MaxValue);
        Assert.True(parent > immediate, "parent categories are asked for after the immediate ones");
    }
}
