using System.Buffers.Binary;
using System.Text;
using Skim.Core.Formats.SafeTensors;

namespace Skim.Core.Tests.Formats.SafeTensors;

public sealed class SafeTensorsBadInputTests
{
    private const string F32Pair = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";

    public static TheoryData<string, byte[], string> Cases => new()
    {
        { "shorter than the length prefix", [1, 2, 3], "shorter than the 8-byte header length" },
        { "header longer than the file", WithDeclaredLength(1000, F32Pair, 8), "exceeds the" },
        { "header length over the 100 MB limit", WithDeclaredLength(200_000_000, F32Pair, 0, sparse: true), "100000000-byte limit" },
        { "header that is not JSON", File("{not json", 0), "invalid JSON" },
        { "header that is a JSON array", File("[1, 2]", 0), "expected a JSON object" },
        { "offsets outside the data region", File("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}""", 8), "reach beyond the 8-byte data region" },
        { "truncated data", File(F32Pair, 5), "reach beyond the 5-byte data region" },
        { "unknown dtype", File("""{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", 2), "dtype 'F8_E4M3' is not supported" },
        { "shape that disagrees with the offsets", File("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8), "does not fit data_offsets [0, 8]" },
        { "overlapping tensors", File("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "overlap tensor 'a'" },
        { "offsets that end before they begin", File("""{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}""", 8), "end before they begin" },
        { "negative dimension", File("""{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}""", 0), "non-negative integers, found -1" },
        { "missing data_offsets", File("""{"a":{"dtype":"U8","shape":[1]}}""", 1), "missing array field 'data_offsets'" },
        { "overflowing shape", File("""{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", 8), "does not fit data_offsets" },
        { "duplicate tensor name", File("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", 1), "appears twice" },
        { "metadata with a non-string value", File("""{"__metadata__":{"n":1}}""", 0), "expected a string, found 1" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_malformed_file_is_refused_with_a_one_line_error_naming_the_file(string problem, byte[] content, string expectedMessage)
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("bad.safetensors");
        System.IO.File.WriteAllBytes(path, content);
        if (problem.Contains("100 MB", StringComparison.Ordinal))
        {
            // A sparse file long enough that only the 100 MB bound (not the file length) refuses it.
            using var stream = new FileStream(path, FileMode.Open);
            stream.SetLength(200_000_100);
        }

        // When
        var error = Record.Exception(() => SafeTensorsFile.Open(path).Dispose());

        // Then
        var format = Assert.IsType<SkimFormatException>(error);
        Assert.Contains(expectedMessage, format.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, format.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', format.Message);
    }

    [Fact]
    public void An_index_that_points_outside_its_folder_is_refused()
    {
        // Given
        using var temp = new TempDirectory();
        System.IO.File.WriteAllText(temp.File(SafeTensorsIndex.IndexFileName), """{"weight_map": {"a": "../elsewhere.safetensors"}}""");

        // When
        var error = Record.Exception(() => SafeTensorsIndex.Open(temp.Path).Dispose());

        // Then
        Assert.Contains("is not a plain file name", Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_index_naming_a_tensor_its_shard_lacks_is_refused()
    {
        // Given
        using var temp = new TempDirectory();
        SafeTensorsWriter.Write(temp.File("s.safetensors"), [RawTensor.FromFloat32("present", [1], [1f])]);
        System.IO.File.WriteAllText(temp.File(SafeTensorsIndex.IndexFileName), """{"weight_map": {"absent": "s.safetensors"}}""");

        // When
        var error = Record.Exception(() => SafeTensorsIndex.Open(temp.Path).Dispose());

        // Then
        Assert.Contains("has no tensor named 'absent'", Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_weights_is_refused_naming_both_expected_files()
    {
        // Given
        using var temp = new TempDirectory();

        // When
        var error = Record.Exception(() => SafeTensorsIndex.Open(temp.Path).Dispose());

        // Then
        var message = Assert.IsType<SkimFormatException>(error).Message;
        Assert.Contains(SafeTensorsIndex.IndexFileName, message, StringComparison.Ordinal);
        Assert.Contains(SafeTensorsIndex.SingleFileName, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_two_tensors_with_one_name_fails_and_leaves_no_file()
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("dup.safetensors");

        // When
        var error = Record.Exception(() => SafeTensorsWriter.Write(path, [RawTensor.FromFloat32("x", [1], [1f]), RawTensor.FromFloat32("x", [1], [2f])]));

        // Then
        Assert.IsType<ArgumentException>(error);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    private static byte[] File(string header, int dataBytes) => WithDeclaredLength((ulong)Encoding.UTF8.GetByteCount(header), header, dataBytes);

    private static byte[] WithDeclaredLength(ulong declared, string header, int dataBytes, bool sparse = false)
    {
        var text = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + text.Length + (sparse ? 0 : dataBytes)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declared);
        text.CopyTo(bytes, 8);
        return bytes;
    }
}
