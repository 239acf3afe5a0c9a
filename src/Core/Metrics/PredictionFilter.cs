using Skim.Core.Datasets;

namespace Skim.Core.Metrics;

/// <summary>
/// (point, label) pairs to delete from a prediction matrix before scoring, as NGAME's
/// <c>filter_predictions</c> does with <c>filter_labels_test.txt</c>: the ground truth is not touched,
/// and a top-k row that loses entries is padded rather than refilled. Pairs are held per row, sorted
/// and unique.
/// </summary>
public sealed class PredictionFilter
{
    private readonly int[] _indPtr;
    private readonly int[] _labels;

    /// <summary>
    /// The filter of a prediction over some rows of a split: the split's <paramref name="pairs"/> whose
    /// point is one of <paramref name="rows"/>, renumbered to its position there (validation rows of
    /// the train split, scored as a matrix of their own); null when no pair concerns those rows.
    /// </summary>
    public static PredictionFilter? ForRows(FilterPairs pairs, IReadOnlyList<int> rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(rows);
        var position = new Dictionary<int, int>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            position[rows[i]] = i;
        }
        var points = new List<int>();
        var labels = new List<int>();
        for (var k = 0; k < pairs.Count; k++)
        {
            if (position.TryGetValue(pairs.Points[k], out var at))
            {
                points.Add(at);
                labels.Add(pairs.Labels[k]);
            }
        }
        return points.Count == 0 ? null : new PredictionFilter(rows.Count, columns, [.. points], [.. labels]);
    }

    /// <summary>
    /// Builds a filter for a <paramref name="rows"/> × <paramref name="columns"/> prediction matrix from
    /// pairs <c>(points[i], labels[i])</c>. Repeated pairs are kept once.
    /// </summary>
    /// <exception cref="SkimDataException">A pair lies outside the matrix.</exception>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public PredictionFilter(int rows, int columns, ReadOnlySpan<int> points, ReadOnlySpan<int> labels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        // Two parallel arrays of different lengths come from the caller's code; no filter file yields them.
        if (points.Length != labels.Length)
        {
            throw new ArgumentException($"filter has {points.Length} points but {labels.Length} labels", nameof(labels));
        }
        var counts = new int[rows + 1];
        for (var i = 0; i < points.Length; i++)
        {
            if ((uint)points[i] >= (uint)rows || (uint)labels[i] >= (uint)columns)
            {
                throw new SkimDataException(null, $"filter pair {i}",
                    $"({points[i]}, {labels[i]}) lies outside the {rows} x {columns} prediction matrix");
            }
            counts[points[i] + 1]++;
        }
        for (var r = 0; r < rows; r++)
        {
            counts[r + 1] += counts[r];
        }
        var grouped = new int[points.Length];
        var next = counts[..rows];
        for (var i = 0; i < points.Length; i++)
        {
            grouped[next[points[i]]++] = labels[i];
        }

        // Sort each row and drop repeats in place, compacting rows towards the front.
        var indPtr = new int[rows + 1];
        var write = 0;
        var maxRow = 0;
        for (var r = 0; r < rows; r++)
        {
            var row = grouped.AsSpan(counts[r], counts[r + 1] - counts[r]);
            row.Sort();
            var start = write;
            for (var j = 0; j < row.Length; j++)
            {
                if (j == 0 || row[j] != row[j - 1])
                {
                    grouped[write++] = row[j];
                }
            }
            indPtr[r + 1] = write;
            maxRow = Math.Max(maxRow, write - start);
        }
        Rows = rows;
        Columns = columns;
        _indPtr = indPtr;
        _labels = write == grouped.Length ? grouped : grouped[..write];
        MaxRowLength = maxRow;
    }

    /// <summary>Gets the number of rows (points) of the prediction matrix the filter applies to.</summary>
    public int Rows { get; }

    /// <summary>Gets the number of columns (labels) of the prediction matrix the filter applies to.</summary>
    public int Columns { get; }

    /// <summary>Gets the number of distinct (point, label) pairs.</summary>
    public int Count => _labels.Length;

    /// <summary>Gets the largest number of pairs of any one row.</summary>
    public int MaxRowLength { get; }

    /// <summary>Gets the sorted labels filtered from row <paramref name="row"/>.</summary>
    public ReadOnlySpan<int> RowLabels(int row) => _labels.AsSpan(_indPtr[row], _indPtr[row + 1] - _indPtr[row]);

    /// <summary>Gets whether the pair (<paramref name="row"/>, <paramref name="label"/>) is filtered.</summary>
    public bool Contains(int row, int label) => RowLabels(row).BinarySearch(label) >= 0;
}
