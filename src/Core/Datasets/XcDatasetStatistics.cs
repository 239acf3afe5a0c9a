using Skim.Core.Sparse;

namespace Skim.Core.Datasets;

/// <summary>Counts that describe one label matrix of a dataset (train, test, or the complete train matrix).</summary>
/// <param name="Split">Which matrix: <c>trn</c>, <c>tst</c> or <c>trn_full</c>.</param>
/// <param name="Points">Rows.</param>
/// <param name="Labels">Columns.</param>
/// <param name="NonZeros">Stored entries with a non-zero value (point-label pairs).</param>
/// <param name="LabelsPerPointAverage">Mean labels per point.</param>
/// <param name="LabelsPerPointMin">Fewest labels of a point.</param>
/// <param name="LabelsPerPointMax">Most labels of a point.</param>
/// <param name="EmptyRows">Points without any label.</param>
/// <param name="PointsPerLabelAverage">Mean points per label, over all labels.</param>
/// <param name="PointsPerLabelMin">Fewest points of a label.</param>
/// <param name="PointsPerLabelMax">Most points of a label.</param>
/// <param name="LabelsWithoutPoints">Labels no point of this matrix has.</param>
/// <param name="FilterPairs">Pairs in the split's filter file (0 without one, and for the complete matrix).</param>
public sealed record XcSplitStatistics(
    string Split,
    int Points,
    int Labels,
    long NonZeros,
    double LabelsPerPointAverage,
    int LabelsPerPointMin,
    int LabelsPerPointMax,
    int EmptyRows,
    double PointsPerLabelAverage,
    int PointsPerLabelMin,
    int PointsPerLabelMax,
    int LabelsWithoutPoints,
    int FilterPairs)
{
    /// <summary>Computes the counts of <paramref name="matrix"/>.</summary>
    public static XcSplitStatistics Compute(string split, CsrMatrix matrix, int filterPairs = 0)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        long nonZeros = 0;
        int minPerPoint = int.MaxValue, maxPerPoint = 0, emptyRows = 0;
        for (var r = 0; r < matrix.Rows; r++)
        {
            var count = 0;
            foreach (var value in matrix.RowValues(r))
            {
                if (value != 0)
                {
                    count++;
                }
            }
            nonZeros += count;
            minPerPoint = Math.Min(minPerPoint, count);
            maxPerPoint = Math.Max(maxPerPoint, count);
            if (count == 0)
            {
                emptyRows++;
            }
        }
        var frequencies = matrix.ColumnCounts();
        int minPerLabel = int.MaxValue, maxPerLabel = 0, withoutPoints = 0;
        foreach (var frequency in frequencies)
        {
            minPerLabel = Math.Min(minPerLabel, frequency);
            maxPerLabel = Math.Max(maxPerLabel, frequency);
            if (frequency == 0)
            {
                withoutPoints++;
            }
        }
        return new XcSplitStatistics(
            split,
            matrix.Rows,
            matrix.Columns,
            nonZeros,
            matrix.Rows == 0 ? 0 : (double)nonZeros / matrix.Rows,
            matrix.Rows == 0 ? 0 : minPerPoint,
            maxPerPoint,
            emptyRows,
            matrix.Columns == 0 ? 0 : (double)nonZeros / matrix.Columns,
            matrix.Columns == 0 ? 0 : minPerLabel,
            maxPerLabel,
            withoutPoints,
            filterPairs);
    }
}

/// <summary>
/// One tenth of the labels, ordered by train frequency: decile 1 holds the most frequent (head)
/// labels, decile 10 the rarest (tail). Shares say how much of each matrix's non-zeros fall on it.
/// </summary>
/// <param name="Decile">1 (head) to 10 (tail).</param>
/// <param name="Labels">Labels in the bucket.</param>
/// <param name="MinTrainFrequency">Smallest train frequency in the bucket (0 for an empty bucket).</param>
/// <param name="MaxTrainFrequency">Largest train frequency in the bucket (0 for an empty bucket).</param>
/// <param name="TrainNonZeros">Train pairs whose label is in the bucket.</param>
/// <param name="TrainShare">TrainNonZeros over all train pairs (0 when there are none).</param>
/// <param name="TestNonZeros">Test pairs whose label is in the bucket.</param>
/// <param name="TestShare">TestNonZeros over all test pairs (0 when there are none).</param>
public sealed record XcLabelDecile(
    int Decile,
    int Labels,
    int MinTrainFrequency,
    int MaxTrainFrequency,
    long TrainNonZeros,
    double TrainShare,
    long TestNonZeros,
    double TestShare);

/// <summary>What <c>skim dataset inspect</c> reports about a dataset.</summary>
/// <param name="Directory">The dataset folder.</param>
/// <param name="Layout">Its layout.</param>
/// <param name="NumLabels">Labels.</param>
/// <param name="Train">The train matrix (the observed one when labels are simulated missing).</param>
/// <param name="Test">The test matrix.</param>
/// <param name="FullTrain">The complete train matrix, when the dataset has one.</param>
/// <param name="Deciles">Label-frequency deciles by train frequency (10 buckets, head first).</param>
public sealed record XcDatasetStatistics(
    string Directory,
    XcDatasetLayout Layout,
    int NumLabels,
    XcSplitStatistics Train,
    XcSplitStatistics Test,
    XcSplitStatistics? FullTrain,
    IReadOnlyList<XcLabelDecile> Deciles)
{
    /// <summary>The number of frequency buckets.</summary>
    public const int DecileCount = 10;

    /// <summary>Computes the statistics of <paramref name="dataset"/>.</summary>
    public static XcDatasetStatistics Compute(XcDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return new XcDatasetStatistics(
            dataset.Directory,
            dataset.Layout,
            dataset.NumLabels,
            XcSplitStatistics.Compute(XcDataset.TrainSplit, dataset.TrainLabels, dataset.TrainFilter.Count),
            XcSplitStatistics.Compute(XcDataset.TestSplit, dataset.TestLabels, dataset.TestFilter.Count),
            dataset.FullTrainLabels is { } full ? XcSplitStatistics.Compute("trn_full", full) : null,
            ComputeDeciles(dataset.TrainLabels, dataset.TestLabels));
    }

    /// <summary>
    /// Sorts labels by train frequency (descending; ties by label id), cuts them into
    /// <see cref="DecileCount"/> buckets of equal size (bucket <c>d</c> holds positions
    /// <c>d·L/10</c> up to <c>(d+1)·L/10</c>), and counts the train and test pairs of each bucket.
    /// </summary>
    public static IReadOnlyList<XcLabelDecile> ComputeDeciles(CsrMatrix train, CsrMatrix test)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        var labels = train.Columns;
        var trainCounts = train.ColumnCounts();
        var testCounts = test.Columns == labels ? test.ColumnCounts() : new int[labels];
        var order = new int[labels];
        for (var l = 0; l < labels; l++)
        {
            order[l] = l;
        }
        Array.Sort(order, (a, b) => trainCounts[a] != trainCounts[b] ? trainCounts[b].CompareTo(trainCounts[a]) : a.CompareTo(b));
        long trainTotal = 0, testTotal = 0;
        for (var l = 0; l < labels; l++)
        {
            trainTotal += trainCounts[l];
            testTotal += testCounts[l];
        }
        var deciles = new XcLabelDecile[DecileCount];
        for (var d = 0; d < DecileCount; d++)
        {
            var start = (int)((long)d * labels / DecileCount);
            var end = (int)((long)(d + 1) * labels / DecileCount);
            long trainSum = 0, testSum = 0;
            for (var p = start; p < end; p++)
            {
                trainSum += trainCounts[order[p]];
                testSum += testCounts[order[p]];
            }
            deciles[d] = new XcLabelDecile(
                d + 1,
                end - start,
                end > start ? trainCounts[order[end - 1]] : 0,
                end > start ? trainCounts[order[start]] : 0,
                trainSum,
                trainTotal == 0 ? 0 : (double)trainSum / trainTotal,
                testSum,
                testTotal == 0 ? 0 : (double)testSum / testTotal);
        }
        return deciles;
    }
}
