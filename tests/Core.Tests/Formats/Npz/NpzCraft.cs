using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Formats.Npz;

/// <summary>Builds .npz archives member by member, valid or deliberately broken, and sample matrices.</summary>
internal static class NpzCraft
{
    /// <summary>The uncompressed bytes of each member of <paramref name="path"/>, in archive order.</summary>
    public static List<(string Name, byte[] Bytes)> Members(string path)
    {
        using var zip = ZipReader.Open(path);
        return [.. zip.Entries.Select(e =>
        {
            using var s = zip.OpenEntry(e);
            var bytes = new byte[e.UncompressedSize];
            s.ReadExactly(bytes);
            return (e.Name, bytes);
        })];
    }

    /// <summary>Writes an archive of the given members.</summary>
    public static void Write(string path, IEnumerable<(string Name, byte[] Bytes)> members, bool deflate = false)
    {
        using var stream = File.Create(path);
        var zip = new ZipWriter(stream);
        foreach (var (name, bytes) in members)
        {
            zip.Add(name, deflate, s => s.Write(bytes));
        }
        zip.Finish();
    }

    /// <summary>The bytes of an .npy file holding <paramref name="array"/>.</summary>
    public static byte[] Npy(NpyArray array)
    {
        using var s = new MemoryStream();
        NpyFile.WriteArray(s, array, null);
        return s.ToArray();
    }

    /// <summary>The members of a scipy CSR archive, with any of them replaced.</summary>
    public static List<(string Name, byte[] Bytes)> Csr(
        int rows, int columns, int[] indptr, int[] indices, float[] data, string format = "csr")
    {
        using var s = new MemoryStream();
        s.Write(NpyHeaderCodecAccess.Encode("|S3", format));
        return
        [
            ("indices.npy", Npy(NpyArray.Create(indices))),
            ("indptr.npy", Npy(NpyArray.Create(indptr))),
            ("format.npy", s.ToArray()),
            ("shape.npy", Npy(NpyArray.Create(new long[] { rows, columns }))),
            ("data.npy", Npy(NpyArray.Create(data))),
        ];
    }

    /// <summary>A seeded random matrix with some empty rows and unsorted rows.</summary>
    public static CsrMatrix Random(int rows, int columns, double density, int seed, bool sorted = true)
    {
        var random = new Random(seed);
        var indptr = new int[rows + 1];
        var indices = new List<int>();
        var data = new List<float>();
        for (var r = 0; r < rows; r++)
        {
            if (r % 7 != 3)
            {
                var cols = Enumerable.Range(0, columns).Where(_ => random.NextDouble() < density).ToList();
                if (!sorted)
                {
                    cols.Reverse();
                }
                indices.AddRange(cols);
                data.AddRange(cols.Select(_ => (float)Math.Round((random.NextDouble() * 4) - 1, 4)));
            }
            indptr[r + 1] = indices.Count;
        }
        return new CsrMatrix(rows, columns, indptr, [.. indices], [.. data]);
    }

    /// <summary>Asserts two matrices have the same shape and arrays.</summary>
    public static void AssertEqual(CsrMatrix expected, CsrMatrix actual)
    {
        Assert.Equal((expected.Rows, expected.Columns), (actual.Rows, actual.Columns));
        Assert.Equal(expected.IndPtr, actual.IndPtr);
        Assert.Equal(expected.Indices, actual.Indices);
        Assert.Equal(expected.Data, actual.Data);
    }

    /// <summary>The 0-d byte-string member scipy writes for the format.</summary>
    private static class NpyHeaderCodecAccess
    {
        public static byte[] Encode(string descr, string value) =>
            [.. NpyHeaderCodec.Encode(descr, [], null), .. System.Text.Encoding.ASCII.GetBytes(value)];
    }
}
