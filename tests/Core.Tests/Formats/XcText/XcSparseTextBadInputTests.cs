using System.Text;
using Skim.Core.Formats.XcText;

namespace Skim.Core.Tests.Formats.XcText;

public class XcSparseTextBadInputTests
{
    public static TheoryData<string, byte[], bool, string?, string> Cases() => new()
    {
        // name, file bytes, strict, expected location, expected fragment of the problem
        { "index beyond the header", Bytes("3 7\n0:1 9:1\n"), true, "line 2", "index 9 is beyond the header's 7 columns" },
        { "index beyond the header (lenient)", Bytes("3 7\n9:1 0:1\n"), false, "line 2", "index 9 is beyond" },
        { "negative index", Bytes("2 5\n1:1\n-1:1\n"), true, "line 3", "negative index -1" },
        { "negative index (lenient)", Bytes("2 5\n-1:1\n"), false, "line 2", "negative index -1" },
        { "unsorted indices", Bytes("2 5\n3:1 1:1\n"), true, "line 2", "sorted and unique" },
        { "duplicate indices", Bytes("2 5\n\n1:1 1:1\n"), true, "line 3", "sorted and unique" },
        { "NaN value", Bytes("2 5\n1:nan\n"), true, "line 2", "NaN" },
        { "NaN value (lenient)", Bytes("2 5\n1:NaN\n"), false, "line 2", "NaN" },
        { "invalid UTF-8", [.. Bytes("2 5\n1:1\n0:1 # caf"), 0xC3, 0x28, (byte)'\n'], true, "line 3", "invalid UTF-8" },
        { "header with two spaces", Bytes("3  7\n"), true, "line 1", "header must be" },
        { "header with a tab", Bytes("3\t7\n"), true, "line 1", "header must be" },
        { "garbage header", Bytes("rows cols\n"), true, "line 1", "header must be" },
        { "header with one number", Bytes("3\n"), true, "line 1", "header must be" },
        { "empty file", [], true, "line 1", "missing header" },
        { "more rows than the header", Bytes("1 5\n0:1\n1:1\n"), true, "line 3", "more rows than the header's 1" },
        { "token without a colon", Bytes("2 5\n1\n"), true, "line 2", "expected \"idx:val\"" },
        { "value that is not a number", Bytes("2 5\n1:abc\n"), true, "line 2", "is not a number" },
        { "index that is not an integer", Bytes("2 5\n1.5:1\n"), true, "line 2", "is not an integer" },
        { "index beyond int32", Bytes("2 5\n99999999999999999999:1\n"), true, "line 2", "is not an integer" },
        { "header announcing 10^12 rows", Bytes("1000000000000 5\n"), true, "line 1", "header announces" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_input_gets_one_clear_error_naming_the_file_and_line(string name, byte[] bytes, bool strict, string? location, string problem)
    {
        // Given a malformed file
        using var dir = new TempDirectory();
        var path = dir.File("bad.txt");
        File.WriteAllBytes(path, bytes);

        // When it is read
        var error = Assert.Throws<SkimFormatException>(() => XcSparseText.Read(path, new XcTextReadOptions { Strict = strict }));

        // Then the one-line message names the file, the line and the problem
        Assert.Equal(path, error.Path);
        Assert.Equal(location, error.Location);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith(path, error.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void A_missing_file_is_a_format_error_not_a_crash()
    {
        // Given a path with no file
        using var dir = new TempDirectory();
        var path = dir.File("absent.txt");

        // When it is read, Then the error names the file
        var error = Assert.Throws<SkimFormatException>(() => XcSparseText.Read(path));
        Assert.Contains("file not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_of_unknown_length_with_a_lying_header_is_refused_before_allocating()
    {
        // Given a non-seekable stream whose header announces a billion rows but holds one
        using var stream = new NonSeekableStream(Bytes("1000000000 5\n0:1\n"));

        // When it is read
        var error = Assert.Throws<SkimFormatException>(() => XcSparseText.Read(stream, "pipe"));

        // Then the padding is refused
        Assert.Contains("refusing to pad", error.Message, StringComparison.Ordinal);
    }

    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
