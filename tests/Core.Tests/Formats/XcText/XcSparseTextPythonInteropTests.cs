using System.Globalization;
using Skim.Core.Formats.XcText;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Formats.XcText;

/// <summary>
/// Interop with an independent Python port of pyxclib's reader (<c>safe_read</c>, float32) and writer
/// (<c>'{}'.format</c> of each <c>np.float32</c>), run by the Debian python3 with numpy and scipy.
/// </summary>
public class XcSparseTextPythonInteropTests
{
    // Reads an XC text file as pyxclib does (header, '#' comments, sorted unique indices, float32
    // values, padding to the header's rows) and writes it back as pyxclib's write_sparse_file does.
    private const string PyxclibLike = """
        import sys
        import numpy as np
        import scipy.sparse as sp

        def read_xc(path):
            with open(path, 'rb') as f:
                rows, cols = map(int, f.readline().decode('utf-8').strip().split(' '))
                data, indices, indptr = [], [], [0]
                for line in f:
                    line = line.split(b'#', 1)[0]
                    prev = -1
                    for token in line.split():
                        idx, val = token.split(b':', 1)
                        idx = int(idx)
                        if idx < 0 or idx <= prev:
                            raise ValueError('indices should be sorted and unique')
                        indices.append(idx)
                        data.append(float(val))
                        prev = idx
                    indptr.append(len(indices))
            indptr += [indptr[-1]] * (rows + 1 - len(indptr))
            return sp.csr_matrix((np.array(data, dtype=np.float32), np.array(indices, dtype=np.int32),
                                  np.array(indptr, dtype=np.int32)), shape=(rows, cols))

        def write_xc(matrix, path):
            matrix = matrix.tocsr()
            matrix.sort_indices()
            with open(path, 'w') as f:
                print('%d %d' % matrix.shape, file=f)
                for r in range(matrix.shape[0]):
                    lo, hi = matrix.indptr[r], matrix.indptr[r + 1]
                    print(' '.join('{}:{}'.format(i, v) for i, v in zip(matrix.indices[lo:hi], matrix.data[lo:hi])), file=f)

        def dump_arrays(matrix, path):
            # Shape, indptr, indices and the float32 values as bit patterns, one line each.
            with open(path, 'w') as f:
                print('%d %d' % matrix.shape, file=f)
                print(' '.join(map(str, matrix.indptr)), file=f)
                print(' '.join(map(str, matrix.indices)), file=f)
                print(' '.join(map(str, matrix.data.view(np.uint32))), file=f)
        """;

    [SkippableFact]
    public void Python_rewrites_our_file_to_the_same_bytes()
    {
        // Given a float32 matrix with awkward values and empty rows, written by us
        PythonReference.Require("numpy", "scipy");
        using var dir = new TempDirectory();
        var ours = dir.File("ours.txt");
        var theirs = dir.File("theirs.txt");
        XcSparseText.Write(ours, RandomMatrix(seed: 11));

        // When Python reads it with pyxclib's rules and writes it with pyxclib's writer
        PythonReference.RunCode(PyxclibLike + "\nwrite_xc(read_xc(sys.argv[1]), sys.argv[2])\n", ours, theirs);

        // Then both files are byte-identical
        Assert.Equal(File.ReadAllBytes(ours), File.ReadAllBytes(theirs));
    }

    [SkippableFact]
    public void We_read_a_file_python_wrote_with_identical_contents()
    {
        // Given a random float32 matrix written by Python's pyxclib writer, and its arrays dumped
        // exactly (values as float32 bit patterns)
        PythonReference.Require("numpy", "scipy");
        using var dir = new TempDirectory();
        var path = dir.File("python.txt");
        var dump = dir.File("arrays.txt");
        PythonReference.RunCode(PyxclibLike + """

            rng = np.random.default_rng(5)
            m = sp.random(300, 1000, density=0.01, format='csr', dtype=np.float32, random_state=5)
            m.data[::7] = 1.0
            m.data[::11] = np.float32(1e-5)
            m.data[::13] = np.float32(3e20)
            m = sp.vstack([m, sp.csr_matrix((2, 1000), dtype=np.float32)]).tocsr()
            m.sort_indices()
            write_xc(m, sys.argv[1])
            dump_arrays(m, sys.argv[2])
            """, path, dump);

        // When we read the file
        var matrix = XcSparseText.Read(path);

        // Then every array matches Python's bit for bit
        Assert.Equal((302, 1000), (matrix.Rows, matrix.Columns));
        AssertSameArrays(dump, matrix);
    }

    [SkippableFact]
    public void Digit_underscores_that_pyxclib_accepts_read_to_the_same_matrix()
    {
        // Given a file spelling counts, indices and values with Python's digit underscores, which
        // pyxclib's int() and float() accept (no XC file is known to use them, but pyxclib reads them)
        PythonReference.Require("numpy", "scipy");
        using var dir = new TempDirectory();
        var path = dir.File("underscores.txt");
        var dump = dir.File("arrays.txt");
        File.WriteAllText(path, "3 1_000\n1_0:1_0.5 99_9:1e-0_5\n\n+7:2_5e1_0 12:1\n");

        // When Python reads it with pyxclib's rules, and we read it
        PythonReference.RunCode(PyxclibLike + "\ndump_arrays(read_xc(sys.argv[1]), sys.argv[2])\n", path, dump);
        var matrix = XcSparseText.Read(path);

        // Then both read the same shape, indices and float32 values, bit for bit
        Assert.Equal((3, 1000), (matrix.Rows, matrix.Columns));
        Assert.Equal([10.5f, 1e-5f, 2.5e11f, 1f], matrix.Data);
        AssertSameArrays(dump, matrix);
    }

    [SkippableFact]
    public void Double_formatting_matches_python_repr_on_many_magnitudes()
    {
        // Given doubles spread over the whole exponent range
        PythonReference.Require("numpy");
        var random = new Random(3);
        var values = Enumerable.Range(0, 3000)
            .Select(_ => BitConverter.Int64BitsToDouble(random.NextInt64(1, 0x7FEFFFFFFFFFFFFF)) * (random.Next(2) == 0 ? 1 : -1))
            .Concat(Enumerable.Range(-30, 60).Select(e => Math.Pow(10, e)))
            .ToArray();
        using var dir = new TempDirectory();
        var input = dir.File("bits.txt");
        File.WriteAllLines(input, values.Select(v => BitConverter.DoubleToInt64Bits(v).ToString(CultureInfo.InvariantCulture)));

        // When Python prints repr() of each
        var expected = PythonReference.RunCode(
            "import sys, struct\nfor line in open(sys.argv[1]):\n    print(repr(struct.unpack('<d', struct.pack('<q', int(line)))[0]))\n",
            input).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Then our formatting agrees on every one
        Assert.Equal(expected, values.Select(PythonNumbers.FormatFloat).ToArray());
    }

    private static CsrMatrix RandomMatrix(int seed)
    {
        var random = new Random(seed);
        float[] special = [1f, 0.5f, 0.1f, 1e-5f, 3e20f, 123456789f, 1f / 3, 2.5e-8f, -0.75f, 1e16f, 9.999e15f];
        var builder = new CsrBuilder(5000);
        for (var r = 0; r < 400; r++)
        {
            var columns = Enumerable.Range(0, random.Next(0, 8)).Select(_ => random.Next(5000)).Distinct().Order().ToArray();
            var values = columns.Select(_ => random.Next(3) == 0 ? special[random.Next(special.Length)] : (float)(random.NextDouble() * Math.Pow(10, random.Next(-8, 9)))).ToArray();
            builder.AddRow(columns, values);
        }
        return builder.Build();
    }

    // Compares a matrix with the arrays Python's dump_arrays wrote.
    private static void AssertSameArrays(string dump, CsrMatrix matrix)
    {
        var lines = File.ReadAllLines(dump);
        Assert.Equal(lines[0], $"{matrix.Rows} {matrix.Columns}");
        Assert.Equal(ParseInts(lines[1]), matrix.IndPtr);
        Assert.Equal(ParseInts(lines[2]), matrix.Indices);
        Assert.Equal(ParseUInts(lines[3]), matrix.Data.Select(BitConverter.SingleToUInt32Bits).ToArray());
    }

    private static int[] ParseInts(string line) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    private static uint[] ParseUInts(string line) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => uint.Parse(s, CultureInfo.InvariantCulture)).ToArray();
}
