using Skim.Core.Formats.Npy;

namespace Skim.Core.Tests.Formats.Npy;

public class NpyFileTests
{
    public static TheoryData<NpyDType, string> DTypesAndShapes()
    {
        var data = new TheoryData<NpyDType, string>();
        foreach (var dtype in Enum.GetValues<NpyDType>())
        {
            foreach (var shape in new[] { "", "7", "3,4", "2,3,2", "0", "4,0" })
            {
                data.Add(dtype, shape);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(DTypesAndShapes))]
    public void Every_dtype_and_shape_round_trips_through_our_writer_and_reader(NpyDType dtype, string shape)
    {
        // Given an array of each dtype and shape
        using var temp = new TempDirectory();
        var array = NpyTestData.Sample(dtype, NpyTestData.Shape(shape));

        // When it is written and read back
        NpyFile.Write(temp.File("a.npy"), array);
        var back = NpyFile.Read(temp.File("a.npy"));

        // Then dtype, shape and every element survive
        NpyTestData.AssertSame(array, back);
    }

    [SkippableTheory]
    [InlineData(NpyDType.Bool, "", 1)]
    [InlineData(NpyDType.UInt8, "9", 1)]
    [InlineData(NpyDType.Int32, "3,4", 1)]
    [InlineData(NpyDType.Int64, "5,2", 2)]
    [InlineData(NpyDType.Float16, "2,3", 1)]
    [InlineData(NpyDType.Float32, "4,3", 2)]
    [InlineData(NpyDType.Float64, "", 2)]
    [InlineData(NpyDType.Float32, "2,2,2", 3)]
    [InlineData(NpyDType.Bool, "3,5", 2)]
    [InlineData(NpyDType.Float64, "0,3", 1)]
    public void Numpy_loads_what_we_write(NpyDType dtype, string shape, int version)
    {
        // Given an array written by us with an explicit header version
        PythonReference.Require("numpy");
        using var temp = new TempDirectory();
        var array = NpyTestData.Sample(dtype, NpyTestData.Shape(shape));
        NpyFile.Write(temp.File("a.npy"), array, version);

        // When numpy loads it
        var seen = NpyTestData.Python("npy-describe", temp.File("a.npy"));

        // Then numpy sees the same dtype, shape, version and values
        Assert.Equal(dtype.Descr(), seen.GetProperty("descr").GetString());
        Assert.Equal(array.Shape, seen.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(version, seen.GetProperty("version").GetInt32());
        NpyTestData.AssertValues(seen.GetProperty("values"), array.Data);
    }

    [SkippableTheory]
    [InlineData("|b1", "6", 0)]
    [InlineData("|u1", "", 0)]
    [InlineData("<i4", "3,4", 0)]
    [InlineData("<i8", "2,5", 0)]
    [InlineData("<f2", "7", 0)]
    [InlineData("<f4", "2,3,4", 0)]
    [InlineData("<f8", "5", 0)]
    [InlineData("<f4", "3,2", 2)]
    [InlineData("<i8", "4", 3)]
    [InlineData("<f8", "0", 1)]
    public void We_load_what_numpy_writes_and_write_the_same_bytes_back(string descr, string shape, int version)
    {
        // Given a file written by numpy (version 0 lets numpy choose)
        PythonReference.Require("numpy");
        using var temp = new TempDirectory();
        var source = temp.File("numpy.npy");
        var seen = NpyTestData.Python("npy-save", source, descr, shape, version.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // When we read it and write it again with the version numpy used
        var array = NpyFile.Read(source);
        var header = NpyFile.ReadHeader(source);
        NpyFile.Write(temp.File("ours.npy"), array, version == 0 ? null : version);

        // Then the values match numpy's and our file is byte for byte numpy's
        Assert.Equal(descr, array.DType.Descr());
        Assert.Equal(seen.GetProperty("version").GetInt32(), header.Version);
        NpyTestData.AssertValues(seen.GetProperty("values"), array.Data);
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(temp.File("ours.npy")));
    }

    [Fact]
    public void Header_is_padded_to_64_bytes_with_room_for_the_first_dimension_to_grow()
    {
        // Given a small 2-d float32 array
        using var temp = new TempDirectory();
        NpyFile.Write(temp.File("a.npy"), NpyArray.Create(new float[6], 2, 3));

        // When its header is read
        var header = NpyFile.ReadHeader(temp.File("a.npy"));
        var text = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(temp.File("a.npy")), 10, (int)header.DataOffset - 10);

        // Then data starts on a 64-byte boundary after numpy's exact dict text
        Assert.Equal(0, header.DataOffset % 64);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", text, StringComparison.Ordinal);
        Assert.EndsWith(" \n", text, StringComparison.Ordinal);
        Assert.Equal(1, header.Version);
    }

    [Fact]
    public void Reading_an_array_of_the_wrong_type_is_refused()
    {
        // Given a float32 array
        var array = NpyArray.Create(new float[2]);

        // When it is asked for as int

        // Then the request fails naming both types
        var e = Assert.Throws<InvalidOperationException>(() => array.As<int>());
        Assert.Contains("Float32", e.Message, StringComparison.Ordinal);
    }
}
