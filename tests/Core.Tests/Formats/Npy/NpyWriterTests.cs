using Skim.Core.Formats.Npy;

namespace Skim.Core.Tests.Formats.Npy;

public class NpyWriterTests
{
    [Fact]
    public void Row_blocks_produce_the_same_file_as_a_whole_array_write()
    {
        // Given a 10 x 3 int64 array
        using var temp = new TempDirectory();
        var array = NpyTestData.Sample(NpyDType.Int64, [10, 3]);
        var values = array.As<long>();

        // When it is streamed in blocks of 4, 4 and 2 rows
        using (var writer = NpyWriter.Create(temp.File("stream.npy"), NpyDType.Int64, [10, 3]))
        {
            writer.WriteRows<long>(values.AsSpan(0, 12));
            writer.WriteRows<long>(values.AsSpan(12, 12));
            writer.WriteRows<long>(values.AsSpan(24, 6));
            writer.Complete();
        }
        NpyFile.Write(temp.File("whole.npy"), array);

        // Then both files are identical
        Assert.Equal(File.ReadAllBytes(temp.File("whole.npy")), File.ReadAllBytes(temp.File("stream.npy")));
    }

    [Fact]
    public void Completing_with_missing_rows_fails_and_leaves_no_file()
    {
        // Given a writer announced for 5 rows that receives 3
        using var temp = new TempDirectory();
        var path = temp.File("short.npy");
        using var writer = NpyWriter.Create(path, NpyDType.Float32, [5, 2]);
        writer.WriteRows<float>(new float[6]);

        // When it is completed
        var e = Assert.Throws<InvalidOperationException>(writer.Complete);

        // Then the error states both counts and nothing is left in the folder
        Assert.Contains("3 rows written", e.Message, StringComparison.Ordinal);
        Assert.Contains("needs 5", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void Writing_more_rows_than_the_shape_announces_is_refused()
    {
        // Given a writer for 2 rows of 3
        using var temp = new TempDirectory();
        using var writer = NpyWriter.Create(temp.File("a.npy"), NpyDType.Int32, [2, 3]);
        writer.WriteRows<int>(new int[6]);

        // When a third row arrives
        var e = Assert.Throws<InvalidOperationException>(() => writer.WriteRows<int>(new int[3]));

        // Then it is refused
        Assert.Contains("exceeds the 2 rows", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rows_of_the_wrong_element_type_or_partial_rows_are_refused()
    {
        // Given a float32 writer with rows of 4
        using var temp = new TempDirectory();
        using var writer = NpyWriter.Create(temp.File("a.npy"), NpyDType.Float32, [3, 4]);

        // When doubles or 6 floats are written

        // Then both are refused
        Assert.Throws<ArgumentException>(() => writer.WriteRows<double>(new double[4]));
        Assert.Throws<ArgumentException>(() => writer.WriteRows<float>(new float[6]));
    }

    [Fact]
    public void A_writer_disposed_without_completing_leaves_no_file()
    {
        // Given a writer that got all its rows but was never completed
        using var temp = new TempDirectory();
        using (var writer = NpyWriter.Create(temp.File("a.npy"), NpyDType.UInt8, [4]))
        {
            writer.WriteRows<byte>(new byte[4]);
        }

        // When the folder is listed

        // Then it is empty
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [SkippableFact]
    public void Numpy_loads_a_file_written_in_row_blocks()
    {
        // Given a 6 x 2 float16 file written one row at a time
        PythonReference.Require("numpy");
        using var temp = new TempDirectory();
        var array = NpyTestData.Sample(NpyDType.Float16, [6, 2]);
        using (var writer = NpyWriter.Create(temp.File("a.npy"), NpyDType.Float16, [6, 2]))
        {
            for (var row = 0; row < 6; row++)
            {
                writer.WriteRows<Half>(array.As<Half>().AsSpan(row * 2, 2));
            }
            writer.Complete();
        }

        // When numpy loads it
        var seen = NpyTestData.Python("npy-describe", temp.File("a.npy"));

        // Then it sees every value
        Assert.Equal("<f2", seen.GetProperty("descr").GetString());
        NpyTestData.AssertValues(seen.GetProperty("values"), array.Data);
    }
}
