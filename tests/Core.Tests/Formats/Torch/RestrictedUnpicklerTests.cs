using System.IO.Compression;
using System.Text;
using Skim.Core.Formats.Torch;

namespace Skim.Core.Tests.Formats.Torch;

/// <summary>Hand-assembled pickles and archives: the reader's bounds and refusals without needing PyTorch.</summary>
public sealed class RestrictedUnpicklerTests
{
    // A protocol-2 state dict {"w": float32 tensor of 2 elements in storage "0"}, as torch.save writes it.
    private static readonly byte[] s_validPickle = Pickle(
        "\u0080\u0002}q\u0000X\u0001\u0000\u0000\u0000wq\u0001",
        "ctorch._utils\n_rebuild_tensor_v2\nq\u0002((X\u0007\u0000\u0000\u0000storageq\u0003ctorch\nFloatStorage\nq\u0004X\u0001\u0000\u0000\u00000q\u0005X\u0003\u0000\u0000\u0000cpuq\u0006K\u0002tq\u0007Q",
        "K\u0000K\u0002\u0085K\u0001\u0085\u0089ccollections\nOrderedDict\n)Rq\u0008tq\u0009Rq\u000As.");

    public static TheoryData<string, byte[], string> BadPickles => new()
    {
        { "os.system through GLOBAL", Pickle("\u0080\u0002cos\nsystem\nX\u0002\u0000\u0000\u0000ls\u0085R."), "global 'os.system' is not allowed" },
        { "builtins.exec through STACK_GLOBAL", Pickle("\u0080\u0004\u008c\u0008builtins\u008c\u0004exec\u0093."), "global 'builtins.exec' is not allowed" },
        { "a string length beyond the pickle", Pickle("\u0080\u0002X\u00ff\u00ff\u00ff\u007f."), "exceeds the" },
        { "a 64-bit length beyond the pickle", Pickle("\u0080\u0004\u008d\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u007f."), "exceeds the" },
        { "no STOP", Pickle("\u0080\u0002}"), "without a STOP" },
        { "an unknown opcode", Pickle("\u0080\u0002\u00ff."), "opcode 0xff" },
        { "a memo read before write", Pickle("\u0080\u0002h\u0005."), "memo entry 5" },
        { "stack underflow", Pickle("\u0080\u0002s."), "stack underflow" },
        { "a list at the top", Pickle("\u0080\u0002]."), "expected a dict of tensors" },
        { "a storage type that is not a storage", Pickle("\u0080\u0002}(X\u0001\u0000\u0000\u0000w(X\u0007\u0000\u0000\u0000storageccollections\nOrderedDict\nX\u0001\u0000\u0000\u00000X\u0003\u0000\u0000\u0000cpuK\u0002tQu."), "storage type collections.OrderedDict is not supported" },
        { "invalid UTF-8 in a string", Pickle("\u0080\u0002X\u0002\u0000\u0000\u0000\u00c3\u0028."), "not valid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(BadPickles))]
    public void A_bad_pickle_is_refused_with_one_line_naming_the_file_and_member(string problem, byte[] pickle, string expectedMessage)
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File($"bad-{problem.Length}.pt");
        WriteCheckpoint(path, pickle, new Dictionary<string, byte[]> { ["0"] = new byte[8] });

        // When
        var error = Record.Exception(() => TorchStateDict.Load(path));

        // Then
        var format = Assert.IsType<SkimFormatException>(error);
        Assert.Contains(expectedMessage, format.Message, StringComparison.Ordinal);
        Assert.StartsWith($"{path}: archive/data.pkl: ", format.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', format.Message);
    }

    [Theory]
    [InlineData(CompressionLevel.NoCompression)]
    [InlineData(CompressionLevel.Optimal)]
    public void A_hand_assembled_state_dict_loads_its_tensor_whether_stored_or_deflated(CompressionLevel level)
    {
        // Given members stored as torch.save writes them, or deflated as an archiver may re-zip them
        using var temp = new TempDirectory();
        var path = temp.File("ok.pt");
        WriteCheckpoint(path, s_validPickle, new Dictionary<string, byte[]> { ["0"] = [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f)] }, level);

        // When
        var tensors = TorchStateDict.Load(path);

        // Then
        Assert.Equal(new[] { 1.5f, -2f }, tensors["w"].ToFloat32Array());
    }

    [Fact]
    public void A_storage_corrupted_after_saving_is_refused_by_its_crc_naming_the_member()
    {
        // Given a stored storage whose first byte was flipped after the archive was written
        using var temp = new TempDirectory();
        var path = temp.File("corrupt.pt");
        byte[] storage = [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f)];
        WriteCheckpoint(path, s_validPickle, new Dictionary<string, byte[]> { ["0"] = storage });
        var bytes = File.ReadAllBytes(path);
        var at = bytes.AsSpan().IndexOf(storage);
        bytes[at] ^= 0xFF;
        File.WriteAllBytes(path, bytes);

        // When
        var error = Record.Exception(() => TorchStateDict.Load(path));

        // Then
        var message = Assert.IsType<SkimFormatException>(error).Message;
        Assert.StartsWith($"{path}: archive/data/0: CRC-32 mismatch", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_storage_shorter_than_its_declared_element_count_is_refused()
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("short.pt");
        WriteCheckpoint(path, s_validPickle, new Dictionary<string, byte[]> { ["0"] = new byte[4] });

        // When
        var error = Record.Exception(() => TorchStateDict.Load(path));

        // Then
        Assert.Contains("needs 8 bytes, the member holds 4", Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_storage_member_is_refused()
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("nostorage.pt");
        WriteCheckpoint(path, s_validPickle, []);

        // When
        var error = Record.Exception(() => TorchStateDict.Load(path));

        // Then
        Assert.Contains("storage '0' referenced by data.pkl is missing", Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_view_reaching_beyond_its_storage_is_refused()
    {
        // Given: the same tensor, but offset 1 into a 2-element storage.
        using var temp = new TempDirectory();
        var path = temp.File("beyond.pt");
        var pickle = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(s_validPickle).Replace("QK\u0000K\u0002", "QK\u0001K\u0002", StringComparison.Ordinal));
        WriteCheckpoint(path, pickle, new Dictionary<string, byte[]> { ["0"] = new byte[8] });

        // When
        var error = Record.Exception(() => TorchStateDict.Load(path));

        // Then
        Assert.Contains("reaches element 2 of a 2-element storage", Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0x02, 0x8a, 0x0a }, "legacy (pre-1.6, non-zip)")]
    [InlineData(new byte[] { 0x50, 0x4b, 0x03, 0x04, 0x00 }, "not a zip archive, or a truncated one")]
    [InlineData(new byte[] { 0x7f, 0x45, 0x4c, 0x46 }, "expected a zip archive")]
    [InlineData(new byte[] { 0x50 }, "too short")]
    public void A_file_that_is_not_a_zip_checkpoint_is_refused(byte[] content, string expectedMessage)
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("x.pt");
        File.WriteAllBytes(path, content);

        // When
        var error = Record.Exception(() => TorchStateDict.Load(path));

        // Then
        Assert.Contains(expectedMessage, Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zip_without_data_pkl_is_refused()
    {
        // Given
        using var temp = new TempDirectory();
        var path = temp.File("plain.zip");
        using (var archive = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            archive.CreateEntry("readme.txt");
        }

        // When
        var error = Record.Exception(() => TorchStateDict.Load(path));

        // Then
        Assert.Contains("no <folder>/data.pkl", Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_allow_list_names_the_rebuild_functions_and_storages_and_nothing_from_os_or_builtins()
    {
        // Given
        var allowed = TorchStateDict.AllowedGlobals.ToList();

        // When
        var dangerous = allowed.Where(g => g.StartsWith("os.", StringComparison.Ordinal) || g.StartsWith("builtins.", StringComparison.Ordinal) || g.StartsWith("posix.", StringComparison.Ordinal));

        // Then
        Assert.Empty(dangerous);
        Assert.Contains("torch._utils._rebuild_tensor_v2", allowed);
        Assert.Contains("torch.BFloat16Storage", allowed);
    }

    private static byte[] Pickle(params string[] parts) => Encoding.Latin1.GetBytes(string.Concat(parts));

    private static void WriteCheckpoint(string path, byte[] pickle, Dictionary<string, byte[]> storages, CompressionLevel level = CompressionLevel.NoCompression)
    {
        using var archive = ZipFile.Open(path, ZipArchiveMode.Create);
        Add(archive, "archive/data.pkl", pickle, level);
        Add(archive, "archive/version", Encoding.ASCII.GetBytes("3\n"), level);
        foreach (var (key, bytes) in storages)
        {
            Add(archive, $"archive/data/{key}", bytes, level);
        }
    }

    private static void Add(ZipArchive archive, string name, byte[] bytes, CompressionLevel level)
    {
        using var stream = archive.CreateEntry(name, level).Open();
        stream.Write(bytes);
    }
}
