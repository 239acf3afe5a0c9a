using Skim.Core;
using Skim.Generate.Runs;

namespace Skim.Generate.Tests.Runs;

public sealed class PromptFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Strings_and_prompt_objects_are_read_in_file_order_and_blank_lines_are_skipped()
    {
        // Given both accepted line forms, a blank line and an object with extra members
        var path = _dir.File("p.jsonl");
        File.WriteAllLines(path, ["\"first\"", "", "{\"prompt\": \"second\", \"item\": 7}", "  ", "\"th\\u00efrd\""]);

        // When
        var prompts = PromptFile.Read(path);

        // Then
        Assert.Equal(["first", "second", "thïrd"], prompts);
    }

    [Theory]
    [InlineData("{\"text\": \"no prompt member\"}", "line 2", "expected a JSON string or an object")]
    [InlineData("{\"prompt\": 3}", "line 2", "expected a JSON string or an object")]
    [InlineData("{not json", "line 2", "not valid JSON")]
    public void A_bad_line_is_a_format_error_naming_the_file_and_line(string badLine, string location, string problem)
    {
        // Given a good line followed by a bad one
        var path = _dir.File("bad.jsonl");
        File.WriteAllLines(path, ["\"ok\"", badLine]);

        // When
        var error = Assert.Throws<SkimFormatException>(() => PromptFile.Read(path));

        // Then
        Assert.Equal(path, error.Path);
        Assert.Equal(location, error.Location);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_a_format_error_naming_it()
    {
        var path = _dir.File("absent.jsonl");

        var error = Assert.Throws<SkimFormatException>(() => PromptFile.Read(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }
}
