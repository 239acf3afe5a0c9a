using System.Text.Json;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;
using Skim.Core.Tests.Formats.Npy;

namespace Skim.Core.Tests.Formats.Npz;

public class SparseNpzTests
{
    private static readonly string[] s_scipyMembers = ["indices.npy", "indptr.npy", "format.npy", "shape.npy", "data.npy"];

    private static CsrMatrix Matrix(string kind) => kind switch
    {
        "random" => NpzCraft.Random(60, 45, 0.15, 3),
        "unsorted" => NpzCraft.Random(20, 30, 0.3, 4, sorted: false),
        "empty_matrix" => CsrMatrix.Empty(5, 8),
        "no_rows" => CsrMatrix.Empty(0, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [InlineData("random", true, NpyDType.Float32, NpyDType.Int32)]
    [InlineData("random", false, NpyDType.Float64, NpyDType.Int64)]
    [InlineData("unsorted", true, NpyDType.Float64, NpyDType.Int32)]
    [InlineData("empty_matrix", true, NpyDType.Float32, NpyDType.Int64)]
    [InlineData("no_rows", false, NpyDType.Float32, NpyDType.Int32)]
    public void Matrices_round_trip_through_our_writer_and_reader(string kind, bool compressed, NpyDType dataType, NpyDType indexType)
    {
        // Given a matrix and save options
        using var temp = new TempDirectory();
        var matrix = Matrix(kind);

        // When it is saved and loaded
        SparseNpz.Save(temp.File("m.npz"), matrix, new SparseNpzOptions { Compressed = compressed, DataType = dataType, IndexType = indexType });
        var back = SparseNpz.Load(temp.File("m.npz"));

        // Then every array is unchanged
        NpzCraft.AssertEqual(matrix, back);
    }

    [SkippableTheory]
    [InlineData("random", true, NpyDType.Float32, NpyDType.Int32, false)]
    [InlineData("random", false, NpyDType.Float32, NpyDType.Int32, false)]
    [InlineData("random", true, NpyDType.Float64, NpyDType.Int32, false)]
    [InlineData("random", false, NpyDType.Float64, NpyDType.Int64, false)]
    [InlineData("random", true, NpyDType.Float32, NpyDType.Int64, false)]
    [InlineData("unsorted", false, NpyDType.Float32, NpyDType.Int32, false)]
    [InlineData("empty_matrix", true, NpyDType.Float32, NpyDType.Int32, false)]
    [InlineData("empty_matrix", false, NpyDType.Float64, NpyDType.Int64, false)]
    [InlineData("no_rows", true, NpyDType.Float32, NpyDType.Int32, false)]
    [InlineData("random", true, NpyDType.Float32, NpyDType.Int32, true)]
    [InlineData("random", false, NpyDType.Float64, NpyDType.Int64, true)]
    public void Scipy_reads_every_kind_of_matrix_we_write(string kind, bool compressed, NpyDType dataType, NpyDType indexType, bool zip64)
    {
        // Given a matrix written by us
        PythonReference.Require("numpy", "scipy");
        using var temp = new TempDirectory();
        var matrix = Matrix(kind);
        var path = temp.File("m.npz");
        SparseNpz.Save(path, matrix, new SparseNpzOptions { Compressed = compressed, DataType = dataType, IndexType = indexType, ForceZip64 = zip64 });

        // When scipy.sparse.load_npz reads it
        var seen = NpyTestData.Python("npz-describe", path);

        // Then scipy sees scipy's layout and our exact contents
        Assert.Equal(s_scipyMembers, Strings(seen, "members"));
        Assert.All(seen.GetProperty("methods").EnumerateArray(), m => Assert.Equal(compressed ? 8 : 0, m.GetInt32()));
        var dtypes = seen.GetProperty("dtypes");
        Assert.Equal(indexType.Descr(), dtypes.GetProperty("indices").GetString());
        Assert.Equal(indexType.Descr(), dtypes.GetProperty("indptr").GetString());
        Assert.Equal(dataType.Descr(), dtypes.GetProperty("data").GetString());
        Assert.Equal("|S3", dtypes.GetProperty("format").GetString());
        Assert.Equal("<i8", dtypes.GetProperty("shape").GetString());
        Assert.Equal("csr", seen.GetProperty("format").GetString());
        AssertMatches(seen, matrix);
    }

    [SkippableTheory]
    [InlineData("random", true)]
    [InlineData("random", false)]
    [InlineData("unsorted", true)]
    [InlineData("unsorted", false)]
    [InlineData("int64", true)]
    [InlineData("int64", false)]
    [InlineData("float64", true)]
    [InlineData("empty", false)]
    public void We_read_what_scipy_writes(string kind, bool compressed)
    {
        // Given a matrix written by scipy.sparse.save_npz
        PythonReference.Require("numpy", "scipy");
        using var temp = new TempDirectory();
        var path = temp.File("scipy.npz");
        var seen = NpyTestData.Python("npz-save", path, kind, compressed ? "1" : "0");

        // When we load it
        var matrix = SparseNpz.Load(path);

        // Then shape, indptr, indices (in scipy's order, unsorted included) and data match
        AssertMatches(seen, matrix);
        Assert.Equal(kind != "unsorted", matrix.HasSortedIndices);
    }

    [SkippableFact]
    public void We_read_an_archive_with_zip64_records_in_every_place()
    {
        // Given a scipy matrix rewritten by Python's zipfile with ZIP64 central directory and end records
        PythonReference.Require("numpy", "scipy");
        using var temp = new TempDirectory();
        var seen = NpyTestData.Python("npz-save", temp.File("scipy.npz"), "random", "1");
        var rewrite = NpyTestData.Python("zip64-rewrite", temp.File("scipy.npz"), temp.File("zip64.npz"));

        // When we load the rewritten file
        var matrix = SparseNpz.Load(temp.File("zip64.npz"));

        // Then it has ZIP64 records and the same contents
        Assert.True(rewrite.GetProperty("zip64_end_record").GetBoolean());
        AssertMatches(seen, matrix);
    }

    [Fact]
    public void Members_scipy_does_not_know_are_ignored()
    {
        // Given a CSR archive with an extra _is_array member, as newer scipy writes for csr_array
        using var temp = new TempDirectory();
        var matrix = NpzCraft.Random(10, 12, 0.3, 5);
        SparseNpz.Save(temp.File("m.npz"), matrix);
        var members = NpzCraft.Members(temp.File("m.npz"));
        members.Add(("_is_array.npy", NpzCraft.Npy(NpyArray.Scalar(true))));
        NpzCraft.Write(temp.File("extra.npz"), members, deflate: true);

        // When it is loaded
        var back = SparseNpz.Load(temp.File("extra.npz"));

        // Then the matrix is read as if the member were absent
        NpzCraft.AssertEqual(matrix, back);
    }

    [Fact]
    public void A_failed_save_leaves_no_file()
    {
        // Given options with an unsupported data type
        using var temp = new TempDirectory();

        // When a save is attempted
        var e = Assert.Throws<SkimConfigException>(() => SparseNpz.Save(temp.File("m.npz"), CsrMatrix.Empty(2, 2), new SparseNpzOptions { DataType = NpyDType.Int32 }));

        // Then it is refused by name and nothing is written
        Assert.Contains("DataType", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    private static string[] Strings(JsonElement e, string name) => [.. e.GetProperty(name).EnumerateArray().Select(x => x.GetString()!)];

    private static void AssertMatches(JsonElement seen, CsrMatrix matrix)
    {
        Assert.Equal([matrix.Rows, matrix.Columns], seen.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(matrix.IndPtr, seen.GetProperty("indptr").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(matrix.Indices, seen.GetProperty("indices").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(matrix.Data, seen.GetProperty("data").EnumerateArray().Select(x => (float)x.GetDouble()));
    }
}
