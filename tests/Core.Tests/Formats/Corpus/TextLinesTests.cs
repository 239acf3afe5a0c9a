using System.Text;
using Skim.Core.Formats.Corpus;

namespace Skim.Core.Tests.Formats.Corpus;

public class TextLinesTests
{
    [Fact]
    public void Crlf_a_bom_and_a_missing_final_newline_are_tolerated()
    {
        // Given a Windows-style file with a byte-order mark and no final newline
        using var dir = new TempDirectory();
        var path = dir.File("trn_X.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("first\r\n\r\nthird — ü")]);

        // When it is read and counted
        var lines = TextLines.ReadAll(path);
        var count = TextLines.Count(path);

        // Then there are three items, the empty one included, without \r or BOM
        Assert.Equal(["first", "", "third — ü"], lines);
        Assert.Equal(3, count);
    }

    [Fact]
    public void A_final_newline_does_not_add_an_item_but_an_empty_line_does()
    {
        // Given "a\nb\n" and "a\n\n"
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("1.txt"), "a\nb\n");
        File.WriteAllText(dir.File("2.txt"), "a\n\n");
        File.WriteAllText(dir.File("3.txt"), "");

        // When they are counted, Then the counts are Python's len(f.readlines())
        Assert.Equal(2, TextLines.Count(dir.File("1.txt")));
        Assert.Equal(2, TextLines.Count(dir.File("2.txt")));
        Assert.Equal(0, TextLines.Count(dir.File("3.txt")));
    }

    [Fact]
    public void Invalid_utf8_is_an_error_naming_the_line()
    {
        // Given a file whose second line holds a broken UTF-8 sequence
        using var dir = new TempDirectory();
        var path = dir.File("Y.txt");
        File.WriteAllBytes(path, [.. Encoding.UTF8.GetBytes("ok\ncaf"), 0xC3, 0x28, (byte)'\n']);

        // When it is read
        var error = Assert.Throws<SkimFormatException>(() => TextLines.ReadAll(path));

        // Then the error names the line
        Assert.Equal("line 2", error.Location);
        Assert.Contains("invalid UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_turns_line_breaks_inside_a_text_into_spaces()
    {
        // Given texts with embedded line breaks
        using var dir = new TempDirectory();
        var path = dir.File("out.txt");

        // When they are written
        TextLines.Write(path, ["one\ntwo", "three\r\nfour", "five"]);

        // Then each text stays on its own line
        Assert.Equal("one two\nthree four\nfive\n", File.ReadAllText(path));
        Assert.Equal(3, TextLines.Count(path));
    }
}
