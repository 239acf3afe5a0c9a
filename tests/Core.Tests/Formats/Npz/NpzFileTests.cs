using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Tests.Formats.Npy;

namespace Skim.Core.Tests.Formats.Npz;

public class NpzFileTests
{
    private static List<KeyValuePair<string, NpyArray>> Arrays() =>
    [
        new("ids", NpyTestData.Sample(NpyDType.Int64, [3, 4])),
        new("emb", NpyTestData.Sample(NpyDType.Float32, [5, 2])),
        new("flag", NpyTestData.Sample(NpyDType.Bool, [7])),
        new("half", NpyTestData.Sample(NpyDType.Float16, [2, 2])),
        new("scalar", NpyArray.Scalar(2.5)),
    ];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Named_arrays_round_trip_in_order(bool compressed)
    {
        // Given several named arrays of different dtypes and ranks
        using var temp = new TempDirectory();
        var arrays = Arrays();

        // When they are saved and loaded
        NpzFile.Save(temp.File("a.npz"), arrays, compressed);
        var back = NpzFile.Load(temp.File("a.npz"));
        using var archive = NpzArchive.Open(temp.File("a.npz"));

        // Then names keep their order and every array is unchanged
        Assert.Equal(arrays.Select(a => a.Key), archive.Names);
        foreach (var (name, array) in arrays)
        {
            NpyTestData.AssertSame(array, back[name]);
        }
        Assert.Equal(new long[] { 3, 4 }, archive.ReadHeader("ids").Shape);
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void Numpy_loads_the_arrays_we_save(bool compressed)
    {
        // Given arrays saved by us
        PythonReference.Require("numpy");
        using var temp = new TempDirectory();
        NpzFile.Save(temp.File("a.npz"), Arrays(), compressed);

        // When numpy.load reads the archive
        var seen = NpyTestData.Python("npz-dense-describe", temp.File("a.npz"));

        // Then numpy sees each array with its dtype and values
        foreach (var (name, array) in Arrays())
        {
            var entry = seen.GetProperty(name);
            Assert.Equal(array.DType.Descr(), entry.GetProperty("descr").GetString());
            Assert.Equal(array.Shape, entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
            NpyTestData.AssertValues(entry.GetProperty("values"), array.Data);
        }
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void We_load_what_numpy_savez_writes(bool compressed)
    {
        // Given an archive from numpy.savez or savez_compressed (ZIP64 extra fields in every local header)
        PythonReference.Require("numpy");
        using var temp = new TempDirectory();
        var seen = NpyTestData.Python("npz-dense-save", temp.File("np.npz"), compressed ? "1" : "0");

        // When we load it
        var arrays = NpzFile.Load(temp.File("np.npz"));

        // Then every array matches numpy's view of it
        foreach (var entry in seen.EnumerateObject())
        {
            var array = arrays[entry.Name];
            Assert.Equal(entry.Value.GetProperty("descr").GetString(), array.DType.Descr());
            Assert.Equal(entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), array.Shape);
            NpyTestData.AssertValues(entry.Value.GetProperty("values"), array.Data);
        }
        Assert.Equal(seen.EnumerateObject().Count(), arrays.Count);
    }

    [Fact]
    public void Asking_for_an_absent_array_names_the_ones_present()
    {
        // Given an archive with arrays a and b
        using var temp = new TempDirectory();
        NpzFile.Save(temp.File("a.npz"), [new("a", NpyArray.Scalar(1)), new("b", NpyArray.Scalar(2))]);
        using var archive = NpzArchive.Open(temp.File("a.npz"));

        // When array c is read
        var e = Assert.Throws<SkimFormatException>(() => archive.Read("c"));

        // Then the error names the file, the member and what is there
        Assert.Equal(temp.File("a.npz"), e.Path);
        Assert.Contains("c.npy", e.Message, StringComparison.Ordinal);
        Assert.Contains("a, b", e.Message, StringComparison.Ordinal);
    }
}
