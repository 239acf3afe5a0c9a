using System.IO.Compression;
using System.Text;
using Skim.Core.Formats.Corpus;

namespace Skim.Core.Tests.Formats.Corpus;

public class XcCorpusTests
{
    private static readonly XcCorpusRecord[] s_records =
    [
        new("B001", "Wireless mouse", "A small \"mouse\"\nwith two buttons", [3, 17], [1f, 0.5f]),
        new("B002", "Café crème", "", [], []),
        new("B003", "", "body only", [0], [1f]),
    ];

    [Fact]
    public void Records_round_trip_through_a_gzipped_corpus()
    {
        // Given records with quotes, line breaks, non-ASCII text and empty label lists
        using var dir = new TempDirectory();
        var path = dir.File("trn.json.gz");

        // When they are written and read back
        XcCorpus.Write(path, s_records);
        var read = XcCorpus.ReadAll(path);

        // Then every field survives
        Assert.Equal(s_records.Length, read.Count);
        for (var i = 0; i < s_records.Length; i++)
        {
            Assert.Equal(s_records[i].Uid, read[i].Uid);
            Assert.Equal(s_records[i].Title, read[i].Title);
            Assert.Equal(s_records[i].Content, read[i].Content);
            Assert.Equal(s_records[i].TargetInd, read[i].TargetInd);
            Assert.Equal(s_records[i].TargetRel, read[i].TargetRel);
        }
        Assert.Equal(3, XcCorpus.Count(path));
    }

    [Fact]
    public void Gzip_output_is_deterministic_and_carries_no_timestamp()
    {
        // Given the same records written twice, a second apart
        using var dir = new TempDirectory();
        XcCorpus.Write(dir.File("a.json.gz"), s_records);
        Thread.Sleep(1100);
        XcCorpus.Write(dir.File("b.json.gz"), s_records);

        // When the bytes are compared
        var a = File.ReadAllBytes(dir.File("a.json.gz"));
        var b = File.ReadAllBytes(dir.File("b.json.gz"));

        // Then they are identical, gzip, with a zero MTIME field
        Assert.Equal(a, b);
        Assert.Equal([0x1f, 0x8b], a[..2]);
        Assert.Equal([0, 0, 0, 0], a[4..8]);
    }

    [Fact]
    public void Plain_jsonl_is_written_without_compression_and_with_python_float_spelling()
    {
        // Given one record
        using var dir = new TempDirectory();
        var path = dir.File("lbl.jsonl");

        // When it is written to a .jsonl name
        XcCorpus.Write(path, [new XcCorpusRecord("7", "t", "c", [1, 2], [1f, 0.1f])]);

        // Then the line is plain JSON with the pyxclib keys in order
        Assert.Equal("{\"uid\":\"7\",\"title\":\"t\",\"content\":\"c\",\"target_ind\":[1,2],\"target_rel\":[1.0,0.1]}\n", File.ReadAllText(path));
    }

    [Fact]
    public void Reader_accepts_numeric_uids_missing_fields_unknown_keys_and_blank_lines()
    {
        // Given a corpus as other tools write it
        using var dir = new TempDirectory();
        var path = dir.File("tst.json");
        File.WriteAllText(path, "{\"uid\": 12, \"title\": \"x\", \"extra\": {\"a\": [1, 2]}, \"target_ind\": [4, 1]}\n\n{\"title\": null}\r\n");

        // When it is read
        var records = XcCorpus.ReadAll(path);

        // Then defaults fill the gaps: relevance 1.0, empty texts, no labels
        Assert.Equal(2, records.Count);
        Assert.Equal("12", records[0].Uid);
        Assert.Equal([4, 1], records[0].TargetInd);
        Assert.Equal([1f, 1f], records[0].TargetRel);
        Assert.Equal("", records[1].Title);
        Assert.Empty(records[1].TargetInd);
    }

    [Fact]
    public void Text_joins_title_and_content_with_one_space()
    {
        // Given records with both fields, a title only and a content only
        var both = new XcCorpusRecord("1", "Title", "Body", [], []);
        var titleOnly = XcCorpusRecord.FromText("2", " spaced ");

        // When their texts are taken, Then they are joined (and nothing is trimmed)
        Assert.Equal("Title Body", both.Text);
        Assert.Equal(" spaced ", titleOnly.Text);
        Assert.Equal("Body", (both with { Title = "" }).Text);
    }

    public static TheoryData<string, byte[], string> BadLines() => new()
    {
        { "not JSON", Encoding.UTF8.GetBytes("{\"uid\": 1}\n{oops\n"), "invalid JSON" },
        { "not an object", Encoding.UTF8.GetBytes("[1, 2]\n"), "expected a JSON object" },
        { "two objects on a line", Encoding.UTF8.GetBytes("{} {}\n"), "one object per line" },
        { "label id that is not an integer", Encoding.UTF8.GetBytes("{\"target_ind\": [1.5]}\n"), "must be an integer label id" },
        { "negative label id", Encoding.UTF8.GetBytes("{\"target_ind\": [-1]}\n"), "is negative" },
        { "relevance count mismatch", Encoding.UTF8.GetBytes("{\"target_ind\": [1, 2], \"target_rel\": [1.0]}\n"), "\"target_rel\" has 1 values but \"target_ind\" has 2" },
        { "title that is not a string", Encoding.UTF8.GetBytes("{\"title\": 5}\n"), "\"title\" must be a string" },
        { "invalid UTF-8", [.. Encoding.UTF8.GetBytes("{\"title\": \"caf"), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}\n")], "invalid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(BadLines))]
    public void A_bad_line_gets_one_error_naming_the_file_and_line(string name, byte[] bytes, string problem)
    {
        // Given a corpus with a bad last line
        using var dir = new TempDirectory();
        var path = dir.File("bad.jsonl");
        File.WriteAllBytes(path, bytes);

        // When it is read
        var error = Assert.Throws<SkimFormatException>(() => XcCorpus.ReadAll(path));

        // Then the error names the line and the problem on one line
        var lastLine = Encoding.UTF8.GetString(bytes).TrimEnd('\n').Split('\n').Length;
        Assert.Equal($"line {lastLine}", error.Location);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void A_truncated_gzip_file_is_a_format_error()
    {
        // Given a gzip corpus cut in half
        using var dir = new TempDirectory();
        var path = dir.File("trn.json.gz");
        XcCorpus.Write(path, Enumerable.Range(0, 2000).Select(i => XcCorpusRecord.FromText(i.ToString(System.Globalization.CultureInfo.InvariantCulture), $"text number {i} {Guid.NewGuid()}")));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        // When it is read, Then a format error names the file
        var error = Assert.ThrowsAny<Exception>(() => XcCorpus.ReadAll(path));
        Assert.True(error is SkimFormatException, $"expected SkimFormatException, got {error.GetType().Name}: {error.Message}");
        Assert.Contains("trn.json.gz", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Python_reads_our_gzipped_corpus_with_gzip_and_json()
    {
        // Given our corpus
        PythonReference.Require("json", "gzip");
        using var dir = new TempDirectory();
        var path = dir.File("trn.json.gz");
        XcCorpus.Write(path, s_records);

        // When Python reads it line by line
        var output = PythonReference.RunCode(
            "import gzip, json, sys\nfor line in gzip.open(sys.argv[1], 'rt', encoding='utf-8'):\n    r = json.loads(line)\n    print(json.dumps([r['uid'], r['title'], r['content'], r['target_ind'], r['target_rel']], ensure_ascii=True))\n",
            path);

        // Then it sees the same fields
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("[\"B001\", \"Wireless mouse\", \"A small \\\"mouse\\\"\\nwith two buttons\", [3, 17], [1.0, 0.5]]", lines[0]);
        Assert.Equal("[\"B002\", \"Caf\\u00e9 cr\\u00e8me\", \"\", [], []]", lines[1]);
        Assert.Equal(3, lines.Length);
    }
}
