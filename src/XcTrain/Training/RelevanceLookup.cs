using Skim.Core.Sparse;

namespace Skim.XcTrain.Training;

/// <summary>
/// The relevance of (train point, label) pairs read from the train matrix, for the target matrices
/// of a batch: a row's labels are sorted once so each look-up is a binary search.
/// </summary>
internal sealed class RelevanceLookup(CsrMatrix matrix)
{
    private readonly Dictionary<int, (int[] Labels, float[] Values)> _sorted = [];

    /// <summary>Gets the relevance of <paramref name="label"/> for train point <paramref name="row"/> (0 when not a positive).</summary>
    public float Get(int row, int label)
    {
        var (labels, values) = Row(row);
        var at = Array.BinarySearch(labels, label);
        return at >= 0 ? Math.Max(values[at], 0f) : 0f;
    }

    /// <summary>Fills a row-major (rows × labels) relevance matrix for a batch.</summary>
    public float[] Matrix(IReadOnlyList<int> rows, IReadOnlyList<int> labels)
    {
        var result = new float[rows.Count * labels.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            for (var c = 0; c < labels.Count; c++)
            {
                result[(i * labels.Count) + c] = Get(rows[i], labels[c]);
            }
        }
        return result;
    }

    private (int[] Labels, float[] Values) Row(int row)
    {
        if (!_sorted.TryGetValue(row, out var entry))
        {
            var labels = matrix.RowIndices(row).ToArray();
            var values = matrix.RowValues(row).ToArray();
            Array.Sort(labels, values);
            entry = (labels, values);
            // Bounded: a cache of every row would duplicate the matrix; batches revisit few rows per epoch.
            if (_sorted.Count > 1 << 16)
            {
                _sorted.Clear();
            }
            _sorted[row] = entry;
        }
        return entry;
    }
}
