using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;

namespace Skim.Core.Datasets;

/// <summary>The one place datasets touch scipy <c>.npz</c> files, so the DEXML conventions live together.</summary>
internal static class DatasetNpz
{
    // DEXML's notebook builds its label matrices from Python floats and saves them with scipy's
    // defaults: float64 data, deflated members.
    private static readonly SparseNpzOptions s_dexmlOptions = new() { Compressed = true, DataType = NpyDType.Float64 };

    public static CsrMatrix Load(string path) => SparseNpz.Load(path);

    public static void Save(string path, CsrMatrix matrix) => SparseNpz.Save(path, matrix, s_dexmlOptions);
}
