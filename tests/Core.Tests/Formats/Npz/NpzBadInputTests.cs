using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Tests.Formats.Npy;

namespace Skim.Core.Tests.Formats.Npz;

public class NpzBadInputTests
{
    // A valid 3 x 4 CSR matrix: rows {0: [1, 3]}, {1: []}, {2: [0]}.
    private static List<(string Name, byte[] Bytes)> Valid(string format = "csr") =>
        NpzCraft.Csr(3, 4, [0, 2, 2, 3], [1, 3, 0], [0.5f, 1f, 2f], format);

    private static List<(string Name, byte[] Bytes)> Replace(List<(string Name, byte[] Bytes)> members, string name, byte[]? bytes) =>
        bytes is null ? [.. members.Where(m => m.Name != name)] : [.. members.Select(m => m.Name == name ? (name, bytes) : m)];

    public static TheoryData<string, string> Cases() => new()
    {
        { "truncated zip", "truncated" },
        { "not a zip", "not a zip archive" },
        { "corrupt member data", "CRC-32 mismatch" },
        { "wrong npy magic in a member", "magic" },
        { "member header announcing 10^12 elements", "4000000000000 bytes" },
        { "fortran-order member", "Fortran" },
        { "unsupported dtype in a member", "'<c8'" },
        { "member header length beyond the member", "runs past the end" },
        { "missing indptr", "indptr.npy: member missing" },
        { "indptr not monotone", "indptr.npy: decreases at row 1" },
        { "index out of range", "indices.npy: column index 9" },
        { "format csc", "'csc'" },
        { "indptr of the wrong length", "expected rows + 1 = 4" },
        { "data shorter than indices", "data has 2 entries but indices has 3" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_npz_files_get_one_clear_error_naming_the_file(string description, string expected)
    {
        // Given a malformed CSR archive
        using var temp = new TempDirectory();
        var path = temp.File("bad.npz");
        Build(description, path, temp);

        // When it is loaded
        var e = Assert.Throws<SkimFormatException>(() => SparseNpz.Load(path));

        // Then one line names the file and the problem
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_int64_indptr_beyond_int32_is_refused_as_too_many_non_zeros()
    {
        // Given an int64 indptr whose last value is 3 billion
        using var temp = new TempDirectory();
        var path = temp.File("big.npz");
        NpzCraft.Write(path, Replace(Valid(), "indptr.npy", NpzCraft.Npy(NpyArray.Create(new long[] { 0, 1, 2, 3_000_000_000L }))));

        // When it is loaded
        var e = Assert.Throws<SkimException>(() => SparseNpz.Load(path));

        // Then the refusal says the matrix is too large to hold
        Assert.Contains("exceed", e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    private static void Build(string description, string path, TempDirectory temp)
    {
        const string Dict = "{{'descr': '{0}', 'fortran_order': {1}, 'shape': {2}, }}";
        byte[] Raw(string descr, string fortran, string shape, byte[] data, int? claimed = null, string magic = "\x93NUMPY") =>
            NpyTestData.Raw(string.Format(System.Globalization.CultureInfo.InvariantCulture, Dict, descr, fortran, shape), data, claimedHeaderLength: claimed, magic: magic);
        var threeInts = new byte[12];
        switch (description)
        {
            case "truncated zip":
                NpzCraft.Write(temp.File("ok.npz"), Valid(), deflate: true);
                var bytes = File.ReadAllBytes(temp.File("ok.npz"));
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                break;
            case "not a zip":
                File.WriteAllText(path, "0 1:1.0 3:0.5\n");
                break;
            case "corrupt member data":
                NpzCraft.Write(path, Valid());
                var all = File.ReadAllBytes(path);
                all[200] ^= 0xFF;
                File.WriteAllBytes(path, all);
                break;
            case "wrong npy magic in a member":
                NpzCraft.Write(path, Replace(Valid(), "indices.npy", Raw("<i4", "False", "(3,)", threeInts, magic: "\x93NUMPZ")));
                break;
            case "member header announcing 10^12 elements":
                NpzCraft.Write(path, Replace(Valid(), "indices.npy", Raw("<i4", "False", "(1000000000000,)", threeInts)), deflate: true);
                break;
            case "fortran-order member":
                NpzCraft.Write(path, Replace(Valid(), "data.npy", Raw("<f4", "True", "(3,)", threeInts)));
                break;
            case "unsupported dtype in a member":
                NpzCraft.Write(path, Replace(Valid(), "data.npy", Raw("<c8", "False", "(3,)", new byte[24])));
                break;
            case "member header length beyond the member":
                NpzCraft.Write(path, Replace(Valid(), "indptr.npy", Raw("<i4", "False", "(4,)", new byte[16], claimed: 5000)));
                break;
            case "missing indptr":
                NpzCraft.Write(path, Replace(Valid(), "indptr.npy", null));
                break;
            case "indptr not monotone":
                NpzCraft.Write(path, Replace(Valid(), "indptr.npy", NpzCraft.Npy(NpyArray.Create<int>([0, 2, 1, 3]))));
                break;
            case "index out of range":
                NpzCraft.Write(path, Replace(Valid(), "indices.npy", NpzCraft.Npy(NpyArray.Create<int>([1, 9, 0]))));
                break;
            case "format csc":
                NpzCraft.Write(path, Valid("csc"));
                break;
            case "indptr of the wrong length":
                NpzCraft.Write(path, Replace(Valid(), "indptr.npy", NpzCraft.Npy(NpyArray.Create<int>([0, 3]))));
                break;
            case "data shorter than indices":
                NpzCraft.Write(path, Replace(Valid(), "data.npy", NpzCraft.Npy(NpyArray.Create<float>([1f, 2f]))));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(description), description, "no such case");
        }
    }
}
