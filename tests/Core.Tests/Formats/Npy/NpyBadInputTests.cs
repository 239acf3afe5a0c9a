using System.Text;
using Skim.Core.Formats.Npy;

namespace Skim.Core.Tests.Formats.Npy;

public class NpyBadInputTests
{
    private static readonly byte[] s_twoFloats = new byte[8];

    public static TheoryData<string, byte[], string> Cases() => new()
    {
        { "empty file", [], "too short" },
        { "wrong magic", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", s_twoFloats, magic: "\x93NUMPX"), "magic" },
        { "zip instead of npy", Encoding.ASCII.GetBytes("PK\x03\x04 not an npy file at all"), "magic" },
        { "version 4", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", s_twoFloats, version: 4), "version 4.0" },
        { "10^12 elements", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", s_twoFloats), "4000000000000 bytes" },
        { "shape overflowing int64", NpyTestData.Raw("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", s_twoFloats), "2^63" },
        { "fortran order", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", s_twoFloats), "Fortran" },
        { "complex dtype", NpyTestData.Raw("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", s_twoFloats), "'<c8'" },
        { "big-endian dtype", NpyTestData.Raw("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", s_twoFloats), "'>f4'" },
        { "object dtype", NpyTestData.Raw("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", s_twoFloats), "'|O'" },
        { "structured dtype", NpyTestData.Raw("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", s_twoFloats), "structured" },
        { "header length beyond file", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", s_twoFloats, claimedHeaderLength: 60000), "runs past the end" },
        { "data shorter than shape", NpyTestData.Raw("{'descr': '<f8', 'fortran_order': False, 'shape': (10,), }", s_twoFloats), "80 bytes" },
        { "data longer than shape", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", s_twoFloats), "8 bytes follow" },
        { "shape not a tuple", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", s_twoFloats), "trailing comma" },
        { "negative dimension", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", s_twoFloats), "non-negative" },
        { "unknown key", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1, }", s_twoFloats), "unexpected key 'x'" },
        { "missing key", NpyTestData.Raw("{'descr': '<f4', 'shape': (2,), }", s_twoFloats), "missing key 'fortran_order'" },
        { "code in the header", NpyTestData.Raw("{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (2,), }", s_twoFloats), "descr" },
        { "text after the dict", NpyTestData.Raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", s_twoFloats), "after the closing brace" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_npy_files_get_one_clear_error_naming_the_file(string description, byte[] bytes, string expected)
    {
        // Given a malformed .npy file
        using var temp = new TempDirectory();
        var path = temp.File("bad.npy");
        File.WriteAllBytes(path, bytes);

        // When it is read whole, by header, or through a memory map
        var whole = Assert.Throws<SkimFormatException>(() => NpyFile.Read(path));
        var header = Assert.Throws<SkimFormatException>(() => NpyFile.ReadHeader(path));
        var map = Assert.Throws<SkimFormatException>(() => NpyMemoryMap.Open(path));

        // Then each error is one line naming the file and the problem
        foreach (var e in new[] { whole, header, map })
        {
            Assert.Equal(path, e.Path);
            Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e.Message);
        }
        Assert.NotEmpty(description);
    }
}
