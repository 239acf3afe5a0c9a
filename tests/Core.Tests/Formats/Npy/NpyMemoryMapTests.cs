using Skim.Core.Formats.Npy;

namespace Skim.Core.Tests.Formats.Npy;

public class NpyMemoryMapTests
{
    [Fact]
    public void Row_blocks_read_through_the_map_equal_the_whole_array()
    {
        // Given a 50 x 7 float32 file
        using var temp = new TempDirectory();
        var array = NpyTestData.Sample(NpyDType.Float32, [50, 7]);
        NpyFile.Write(temp.File("a.npy"), array);

        // When it is mapped and read in blocks of 16 rows
        using var map = NpyMemoryMap.Open(temp.File("a.npy"));
        var collected = new List<float>();
        for (long row = 0; row < map.Rows; row += 16)
        {
            collected.AddRange(map.ReadRows<float>(row, (int)Math.Min(16, map.Rows - row)));
        }

        // Then the blocks concatenate to the array
        Assert.Equal(50, map.Rows);
        Assert.Equal(7, map.RowLength);
        Assert.Equal(array.As<float>(), collected);
    }

    [Fact]
    public void Rows_beyond_the_end_or_of_the_wrong_type_are_refused()
    {
        // Given a mapped 4 x 2 int64 file
        using var temp = new TempDirectory();
        NpyFile.Write(temp.File("a.npy"), NpyTestData.Sample(NpyDType.Int64, [4, 2]));
        using var map = NpyMemoryMap.Open(temp.File("a.npy"));

        // When rows 3..5 or int32 rows are asked for

        // Then both requests are refused
        Assert.Throws<ArgumentOutOfRangeException>(() => map.ReadRows<long>(3, 2));
        Assert.Throws<ArgumentException>(() => map.ReadRows<int>(0, 1));
    }

    [SkippableFact]
    public void The_map_reads_a_file_numpy_wrote()
    {
        // Given a numpy-written 3-d int32 file
        PythonReference.Require("numpy");
        using var temp = new TempDirectory();
        var seen = NpyTestData.Python("npy-save", temp.File("a.npy"), "<i4", "5,3,2", "0");

        // When rows 1..3 are read through the map
        using var map = NpyMemoryMap.Open(temp.File("a.npy"));
        var rows = map.ReadRows<int>(1, 3);

        // Then they are numpy's elements 6..23
        var expected = seen.GetProperty("values").EnumerateArray().Skip(6).Take(18).Select(e => e.GetInt32());
        Assert.Equal(expected, rows);
        Assert.Equal(6, map.RowLength);
    }
}
