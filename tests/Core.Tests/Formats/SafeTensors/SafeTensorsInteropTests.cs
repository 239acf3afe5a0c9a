using System.Text.Json;
using Skim.Core.Formats.SafeTensors;

namespace Skim.Core.Tests.Formats.SafeTensors;

public sealed class SafeTensorsInteropTests
{
    private static readonly string s_script = PythonReference.Script("weights_safetensors.py");

    [SkippableFact]
    public void A_file_written_by_an_independent_numpy_writer_reads_back_with_every_dtype_and_the_metadata()
    {
        // Given
        PythonReference.Require("numpy");
        using var temp = new TempDirectory();
        var path = temp.File("numpy.safetensors");
        using var expected = JsonDocument.Parse(PythonReference.Run(s_script, "write", path));

        // When
        using var file = SafeTensorsFile.Open(path);

        // Then
        var tensors = expected.RootElement.GetProperty("tensors");
        Assert.Equal(tensors.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
        foreach (var entry in tensors.EnumerateObject())
        {
            AssertMatches(entry.Value, file[entry.Name]);
        }
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("written by numpy", file.Metadata["note"]);
    }

    [SkippableFact]
    public void A_file_we_write_is_read_by_the_independent_reader_with_aligned_contiguous_tensors_and_space_padding()
    {
        // Given
        PythonReference.Require("numpy");
        using var temp = new TempDirectory();
        var path = temp.File("ours.safetensors");
        var tensors = SampleTensors();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["ünïcode"] = "välue \"quoted\"" };

        // When
        SafeTensorsWriter.Write(path, tensors, metadata);
        using var read = JsonDocument.Parse(PythonReference.Run(s_script, "read", path));

        // Then
        var root = read.RootElement;
        Assert.True(root.GetProperty("header_multiple_of_8").GetBoolean());
        Assert.True(root.GetProperty("padding_is_spaces").GetBoolean());
        Assert.Equal("välue \"quoted\"", root.GetProperty("metadata").GetProperty("ünïcode").GetString());
        foreach (var tensor in tensors)
        {
            var entry = root.GetProperty("tensors").GetProperty(tensor.Name);
            Assert.True(entry.GetProperty("aligned").GetBoolean(), tensor.Name);
            AssertMatches(entry, tensor);
        }
        Assert.Equal(tensors.Count, root.GetProperty("tensors").EnumerateObject().Count());
    }

    [Fact]
    public void Writing_then_opening_gives_back_identical_bytes_shapes_and_metadata()
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("round.safetensors");
        var tensors = SampleTensors();

        // When
        SafeTensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["k"] = "v" });
        using var file = SafeTensorsFile.Open(path);

        // Then
        Assert.Equal(tensors.Count, file.Count);
        foreach (var tensor in tensors)
        {
            var back = file[tensor.Name];
            Assert.Equal(tensor.DType, back.DType);
            Assert.Equal(tensor.Shape, back.Shape);
            Assert.Equal(tensor.GetBytes().ToArray(), back.GetBytes().ToArray());
        }
        Assert.Equal("v", file.Metadata["k"]);
    }

    [Fact]
    public void A_file_can_be_rewritten_from_its_own_memory_mapped_tensors()
    {
        // Given
        using var temp = new TempDirectory();
        var first = temp.File("first.safetensors");
        var second = temp.File("second.safetensors");
        SafeTensorsWriter.Write(first, SampleTensors());

        // When
        using (var file = SafeTensorsFile.Open(first))
        {
            SafeTensorsWriter.Write(second, file.Values);
        }

        // Then
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Fact]
    public void A_tensor_read_after_its_file_is_disposed_throws_instead_of_reading_unmapped_memory()
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("closed.safetensors");
        SafeTensorsWriter.Write(path, SampleTensors());
        RawTensor tensor;
        using (var file = SafeTensorsFile.Open(path))
        {
            tensor = file["f32"];
        }

        // When
        var error = Record.Exception(() => tensor.ToFloat32Array());

        // Then
        Assert.IsType<ObjectDisposedException>(error);
    }

    [Fact]
    public void A_sharded_index_maps_every_weight_to_its_shard_and_keeps_the_index_metadata()
    {
        // Given
        using var temp = new TempDirectory();
        var tensors = SampleTensors();
        SafeTensorsWriter.Write(temp.File("model-00001-of-00002.safetensors"), tensors.Take(3));
        SafeTensorsWriter.Write(temp.File("model-00002-of-00002.safetensors"), tensors.Skip(3));
        var weightMap = tensors.Select((t, i) => $"\"{t.Name}\": \"model-0000{(i < 3 ? 1 : 2)}-of-00002.safetensors\"");
        File.WriteAllText(temp.File(SafeTensorsIndex.IndexFileName), $"{{\"metadata\": {{\"total_size\": 123}}, \"weight_map\": {{{string.Join(", ", weightMap)}}}}}");

        // When
        using var index = SafeTensorsIndex.Open(temp.Path);

        // Then
        Assert.Equal(tensors.Select(t => t.Name), index.Names);
        Assert.Equal(2, index.Shards.Count);
        Assert.Equal("123", index.Metadata["total_size"]);
        foreach (var tensor in tensors)
        {
            Assert.Equal(tensor.GetBytes().ToArray(), index[tensor.Name].GetBytes().ToArray());
        }
    }

    [Fact]
    public void A_folder_with_only_model_safetensors_opens_as_a_single_shard_index()
    {
        // Given
        using var temp = new TempDirectory();
        SafeTensorsWriter.Write(temp.File(SafeTensorsIndex.SingleFileName), SampleTensors());

        // When
        using var index = SafeTensorsIndex.Open(temp.Path);

        // Then
        Assert.Single(index.Shards);
        Assert.Equal(SampleTensors().Count, index.Count);
        Assert.Equal(new[] { 1f, -2f, 0.5f, 3.25f, 0f, -0f }, index["f32"].ToFloat32Array());
    }

    [Fact]
    public void A_sharded_write_splits_by_size_and_opens_back_through_its_index()
    {
        // Given
        using var temp = new TempDirectory();
        var tensors = SampleTensors();

        // When
        var written = SafeTensorsWriter.WriteSharded(temp.Path, tensors, maxShardBytes: 40);
        using var index = SafeTensorsIndex.Open(temp.Path);

        // Then
        Assert.True(written.Count > 2);
        Assert.EndsWith(SafeTensorsIndex.IndexFileName, written[^1], StringComparison.Ordinal);
        Assert.Equal(written.Count - 1, index.Shards.Count);
        Assert.Equal(tensors.Sum(t => t.ByteLength).ToString(System.Globalization.CultureInfo.InvariantCulture), index.Metadata["total_size"]);
        Assert.Equal(tensors.Select(t => t.Name).Order(StringComparer.Ordinal), index.Names);
        foreach (var tensor in tensors)
        {
            Assert.Equal(tensor.GetBytes().ToArray(), index[tensor.Name].GetBytes().ToArray());
        }
    }

    [Fact]
    public void A_sharded_write_that_fits_one_shard_writes_a_plain_model_safetensors()
    {
        // Given
        using var temp = new TempDirectory();

        // When
        var written = SafeTensorsWriter.WriteSharded(temp.Path, SampleTensors(), maxShardBytes: 1 << 20);

        // Then
        Assert.Equal([temp.File(SafeTensorsIndex.SingleFileName)], written);
        Assert.False(File.Exists(temp.File(SafeTensorsIndex.IndexFileName)));
    }

    internal static List<RawTensor> SampleTensors() =>
    [
        RawTensor.FromFloat32("f32", [2, 3], [1f, -2f, 0.5f, 3.25f, 0f, -0f]),
        RawTensor.FromFloat32("f16", [3], [1f, 65504f, -0.000061035156f], TensorDType.Float16),
        RawTensor.FromFloat32("bf16", [2, 2], [1f, -3.140625f, 1e30f, 0f], TensorDType.BFloat16),
        RawTensor.FromInt64("i64", [2], [long.MinValue, 1L << 50]),
        RawTensor.FromInt32("i32", [1, 2], [int.MinValue, 42]),
        new RawTensor("f64", TensorDType.Float64, [2], BitConverter.GetBytes(Math.PI).Concat(BitConverter.GetBytes(-1e300)).ToArray()),
        new RawTensor("u8", TensorDType.UInt8, [3], new byte[] { 0, 128, 255 }),
        new RawTensor("bool", TensorDType.Bool, [2], new byte[] { 1, 0 }),
        new RawTensor("i8", TensorDType.Int8, [1], new byte[] { 0x80 }),
        new RawTensor("i16", TensorDType.Int16, [1], BitConverter.GetBytes((short)-7)),
        RawTensor.FromFloat32("scalar", [], [7f]),
        RawTensor.FromFloat32("empty", [0, 5], []),
    ];

    internal static void AssertMatches(JsonElement expected, RawTensor actual)
    {
        var dtype = expected.GetProperty("dtype").GetString();
        Assert.Equal(dtype, actual.DType.SafeTensorsName());
        Assert.Equal(expected.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), actual.Shape);
        var values = expected.GetProperty("values");
        if (actual.DType.IsFloatingPoint())
        {
            Assert.Equal(values.EnumerateArray().Select(e => e.GetDouble()), actual.ToFloat64Array());
        }
        else
        {
            Assert.Equal(values.EnumerateArray().Select(e => e.GetInt64()), actual.ToInt64Array());
        }
    }
}
