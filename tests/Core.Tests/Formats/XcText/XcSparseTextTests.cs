using System.Text;
using Skim.Core.Formats.XcText;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Formats.XcText;

public class XcSparseTextTests
{
    private const string Golden = "3 7\n2:1.0 5:1.0\n\n0:0.5 3:1.0\n";

    private static CsrMatrix GoldenMatrix() =>
        new(3, 7, [0, 2, 2, 4], [2, 5, 0, 3], [1f, 1f, 0.5f, 1f]);

    private static CsrMatrix ReadText(string text, XcTextReadOptions? options = null) =>
        XcSparseText.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), "m.txt", options);

    private static string WriteText(CsrMatrix matrix)
    {
        using var stream = new MemoryStream();
        XcSparseText.Write(stream, matrix);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void Writer_reproduces_the_pyxclib_golden_example_byte_for_byte()
    {
        // Given the 3x7 matrix of the reference's verified example
        var matrix = GoldenMatrix();

        // When it is written
        var text = WriteText(matrix);

        // Then the bytes are pyxclib's, header, empty row and final newline included
        Assert.Equal(Golden, text);
    }

    [Fact]
    public void Reader_reads_the_golden_example_back()
    {
        // Given the golden text

        // When it is read
        var matrix = ReadText(Golden);

        // Then it is the golden matrix
        Assert.True(GoldenMatrix().ContentEquals(matrix));
    }

    [Fact]
    public void Writing_to_a_path_is_atomic_and_leaves_no_temporary_file()
    {
        // Given a folder
        using var dir = new TempDirectory();
        var path = dir.File("trn_X_Y.txt");

        // When a matrix is written there
        XcSparseText.Write(path, GoldenMatrix());

        // Then the file holds the text and nothing else is left in the folder
        Assert.Equal(Golden, File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Theory]
    [InlineData(1f, "1.0")]
    [InlineData(0.5f, "0.5")]
    [InlineData(0.1f, "0.10000000149011612")]
    [InlineData(1e-5f, "9.999999747378752e-06")]
    [InlineData(1e20f, "1.0000000200408773e+20")]
    [InlineData(123456789f, "123456792.0")]
    [InlineData(-2.5f, "-2.5")]
    [InlineData(-0f, "-0.0")]
    [InlineData(float.PositiveInfinity, "inf")]
    [InlineData(float.NegativeInfinity, "-inf")]
    public void Writer_spells_float32_values_as_pyxclib_formats_them(float value, string expected)
    {
        // Given a one-entry matrix (pyxclib's '{}'.format widens np.float32 to a Python float)
        var matrix = new CsrMatrix(1, 4, [0, 1], [3], [value]);

        // When it is written
        var text = WriteText(matrix);

        // Then the value has Python's repr of the widened float
        Assert.Equal($"1 4\n3:{expected}\n", text);
    }

    [Fact]
    public void Writer_sorts_unsorted_rows_without_changing_the_matrix()
    {
        // Given a row stored in score order
        var matrix = new CsrMatrix(1, 9, [0, 3], [7, 2, 5], [0.5f, 1f, 0.25f]);

        // When it is written
        var text = WriteText(matrix);

        // Then the line is sorted by index and the matrix keeps its order
        Assert.Equal("1 9\n2:1.0 5:0.25 7:0.5\n", text);
        Assert.Equal([7, 2, 5], matrix.Indices);
    }

    [Fact]
    public void Writer_refuses_nan_and_duplicate_indices()
    {
        // Given a matrix with NaN and one with a duplicate index
        var withNaN = new CsrMatrix(1, 4, [0, 1], [1], [float.NaN]);
        var withDuplicate = new CsrMatrix(1, 4, [0, 2], [1, 1], [1f, 1f]);

        // When they are written, Then each is refused with the row named
        Assert.Contains("NaN", Assert.Throws<SkimException>(() => WriteText(withNaN)).Message, StringComparison.Ordinal);
        Assert.Contains("row 0 holds column 1 twice", Assert.Throws<SkimException>(() => WriteText(withDuplicate)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_shape_wins_and_missing_trailing_rows_are_empty()
    {
        // Given a header announcing 4 rows and 10 columns but only one row line
        const string Text = "4 10\n1:1.0\n";

        // When it is read
        var matrix = ReadText(Text);

        // Then the shape is the header's and the missing rows are empty
        Assert.Equal((4, 10), (matrix.Rows, matrix.Columns));
        Assert.Equal([0, 1, 1, 1, 1], matrix.IndPtr);
    }

    [Fact]
    public void Comments_a_qid_token_crlf_and_a_missing_final_newline_are_accepted()
    {
        // Given lines with a comment, a qid token, a Windows line end and no final newline
        const string Text = "3 5\n0:1 # a comment\nqid:7 2:0.5 4:2\r\n# only a comment";

        // When it is read
        var matrix = ReadText(Text);

        // Then the comment-only line is an empty row and the qid token is skipped
        Assert.Equal([0, 1, 3, 3], matrix.IndPtr);
        Assert.Equal([0, 2, 4], matrix.Indices);
        Assert.Equal([1f, 0.5f, 2f], matrix.Data);
    }

    [Fact]
    public void Lenient_read_sorts_rows_and_sums_duplicates_like_the_coo_path()
    {
        // Given an unsorted row with a duplicate index
        const string Text = "1 6\n4:1 2:0.25 4:0.5\n";

        // When it is read leniently
        var matrix = ReadText(Text, new XcTextReadOptions { Strict = false });

        // Then the row is sorted and the duplicate summed
        Assert.Equal([2, 4], matrix.Indices);
        Assert.Equal([0.25f, 1.5f], matrix.Data);
    }

    [Fact]
    public void One_based_files_are_shifted_down()
    {
        // Given a 1-based file whose largest index equals the column count
        const string Text = "2 3\n1:1 3:1\n2:1\n";

        // When it is read as 1-based and as auto
        var oneBased = ReadText(Text, new XcTextReadOptions { IndexBase = XcIndexBase.One });
        var auto = ReadText(Text, new XcTextReadOptions { IndexBase = XcIndexBase.Auto });

        // Then both hold 0-based indices
        Assert.Equal([0, 2, 1], oneBased.Indices);
        Assert.True(oneBased.ContentEquals(auto));
    }

    [Fact]
    public void Auto_base_keeps_a_file_that_uses_index_zero()
    {
        // Given a file that uses index 0
        const string Text = "1 3\n0:1 2:1\n";

        // When it is read with auto detection
        var matrix = ReadText(Text, new XcTextReadOptions { IndexBase = XcIndexBase.Auto });

        // Then the indices are unchanged
        Assert.Equal([0, 2], matrix.Indices);
    }

    [Fact]
    public void Auto_base_refuses_an_index_equal_to_the_column_count_in_a_zero_based_file()
    {
        // Given a 0-based file (it uses 0) with an index equal to the column count on line 3
        const string Text = "2 3\n0:1\n3:1\n";

        // When it is read with auto detection, Then the line is named
        var error = Assert.Throws<SkimFormatException>(() => ReadText(Text, new XcTextReadOptions { IndexBase = XcIndexBase.Auto }));
        Assert.Equal("line 3", error.Location);
    }

    [Theory]
    [InlineData("1", 1.0)]
    [InlineData("1.", 1.0)]
    [InlineData(".5", 0.5)]
    [InlineData("-2.5e-3", -0.0025)]
    [InlineData("1E3", 1000.0)]
    [InlineData("1_000.5", 1000.5)]
    [InlineData("+inf", double.PositiveInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    [InlineData("INF", double.PositiveInfinity)]
    [InlineData("1e500", double.PositiveInfinity)]
    public void Values_are_parsed_as_python_float_parses_them(string text, double expected)
    {
        // Given a Python float spelling

        // When it is parsed
        var ok = PythonNumbers.TryParseFloat(Encoding.ASCII.GetBytes(text), out var value);

        // Then it has Python's value
        Assert.True(ok);
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("1e")]
    [InlineData("1__0")]
    [InlineData("_1")]
    [InlineData("1_")]
    [InlineData("0x10")]
    [InlineData("1.5.2")]
    [InlineData("infinit")]
    [InlineData("1,5")]
    public void Spellings_python_float_refuses_are_refused(string text)
    {
        // Given a spelling Python's float() raises on

        // When it is parsed
        var ok = PythonNumbers.TryParseFloat(Encoding.ASCII.GetBytes(text), out _);

        // Then it fails
        Assert.False(ok);
    }

    [Theory]
    [InlineData(1e-5, "1e-05")]
    [InlineData(1e-4, "0.0001")]
    [InlineData(1e16, "1e+16")]
    [InlineData(9999000000000000.0, "9999000000000000.0")]
    [InlineData(1.0 / 3, "0.3333333333333333")]
    [InlineData(123.456, "123.456")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(-1.5e-7, "-1.5e-07")]
    [InlineData(100.0, "100.0")]
    public void Doubles_are_formatted_as_python_repr(double value, string expected)
    {
        // Given a double

        // When it is formatted
        var text = PythonNumbers.FormatFloat(value);

        // Then it is Python's repr
        Assert.Equal(expected, text);
    }

    [Fact]
    public void Float32_shortest_form_drops_the_widening_digits()
    {
        // Given 0.1f, whose widened double has 17 digits
        Span<byte> buffer = stackalloc byte[PythonNumbers.MaxFloatLength];

        // When it is formatted as a float32
        var length = PythonNumbers.FormatFloat32(0.1f, buffer);

        // Then the shortest float32 digits are used
        Assert.Equal("0.1", Encoding.ASCII.GetString(buffer[..length]));
    }

    [Fact]
    public void A_large_matrix_streams_through_write_and_read_unchanged()
    {
        // Given a 200,000-row matrix with empty rows and fractional values
        var random = new Random(7);
        var builder = new CsrBuilder(50_000);
        for (var r = 0; r < 200_000; r++)
        {
            var count = random.Next(0, 6);
            var columns = Enumerable.Range(0, count).Select(_ => random.Next(50_000)).Distinct().Order().ToArray();
            builder.AddRow(columns, columns.Select(_ => (float)random.NextDouble()).ToArray());
        }
        var matrix = builder.Build();
        using var dir = new TempDirectory();
        var path = dir.File("big.txt");

        // When it is written and read back
        XcSparseText.Write(path, matrix);
        var read = XcSparseText.Read(path);

        // Then it is bit-identical
        Assert.True(matrix.ContentEquals(read));
    }
}
