using Skim.Core.Datasets;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Datasets;

public class XcDatasetStatisticsTests
{
    [Fact]
    public void Split_statistics_count_pairs_empty_rows_and_labels_per_point()
    {
        // Given the fixture's train matrix (11 pairs over 6 points, row 4 empty, label 4 unused)
        var train = DatasetFixture.Train();

        // When its statistics are computed
        var s = XcSplitStatistics.Compute("trn", train, filterPairs: 1);

        // Then the counts are the hand-counted ones
        Assert.Equal(6, s.Points);
        Assert.Equal(5, s.Labels);
        Assert.Equal(11, s.NonZeros);
        Assert.Equal(11.0 / 6, s.LabelsPerPointAverage, 12);
        Assert.Equal(0, s.LabelsPerPointMin);
        Assert.Equal(3, s.LabelsPerPointMax);
        Assert.Equal(1, s.EmptyRows);
        Assert.Equal(11.0 / 5, s.PointsPerLabelAverage, 12);
        Assert.Equal(0, s.PointsPerLabelMin);
        Assert.Equal(5, s.PointsPerLabelMax);
        Assert.Equal(1, s.LabelsWithoutPoints);
        Assert.Equal(1, s.FilterPairs);
    }

    [Fact]
    public void Deciles_split_labels_sorted_by_train_frequency_into_ten_equal_buckets()
    {
        // Given 20 labels where label l has 20 - l train points, and a test matrix using labels 0 and 19
        var rows = new List<int>();
        var cols = new List<int>();
        for (var l = 0; l < 20; l++)
        {
            for (var p = 0; p < 20 - l; p++)
            {
                rows.Add(p);
                cols.Add(l);
            }
        }
        var train = CsrMatrix.FromTriples(20, 20, rows.ToArray(), cols.ToArray(), Enumerable.Repeat(1f, rows.Count).ToArray());
        var test = CsrMatrix.FromTriples(2, 20, [0, 1, 1], [0, 19, 0], [1f, 1f, 1f]);

        // When the deciles are computed
        var deciles = XcDatasetStatistics.ComputeDeciles(train, test);

        // Then each bucket holds 2 labels, head first, with its share of the 210 train pairs
        Assert.Equal(10, deciles.Count);
        Assert.All(deciles, d => Assert.Equal(2, d.Labels));
        Assert.Equal((19, 20, 39L), (deciles[0].MinTrainFrequency, deciles[0].MaxTrainFrequency, deciles[0].TrainNonZeros));
        Assert.Equal((1, 2, 3L), (deciles[9].MinTrainFrequency, deciles[9].MaxTrainFrequency, deciles[9].TrainNonZeros));
        Assert.Equal(39.0 / 210, deciles[0].TrainShare, 12);
        Assert.Equal(1.0, deciles.Sum(d => d.TrainShare), 12);
        Assert.Equal((2L, 1L), (deciles[0].TestNonZeros, deciles[9].TestNonZeros));
        Assert.Equal(2.0 / 3, deciles[0].TestShare, 12);
    }

    [Fact]
    public void Fewer_labels_than_deciles_leave_empty_buckets()
    {
        // Given 3 labels
        var train = new CsrMatrix(1, 3, [0, 3], [0, 1, 2], [1, 1, 1]);

        // When the deciles are computed
        var deciles = XcDatasetStatistics.ComputeDeciles(train, CsrMatrix.Empty(0, 3));

        // Then the labels are spread over 3 buckets and the rest are empty
        Assert.Equal(3, deciles.Sum(d => d.Labels));
        Assert.Equal(7, deciles.Count(d => d.Labels == 0));
        Assert.All(deciles, d => Assert.Equal(0, d.TestShare));
    }

    [Fact]
    public void Dataset_statistics_cover_train_test_and_the_full_matrix()
    {
        // Given a DEXML dataset with a full train matrix
        using var dir = new TempDirectory();
        DatasetFixture.WriteDexml(dir.Path, withFull: true);

        // When its statistics are computed
        var statistics = XcDatasetStatistics.Compute(XcDataset.Open(dir.Path));

        // Then all three matrices are described
        Assert.Equal(11, statistics.Train.NonZeros);
        Assert.Equal(5, statistics.Test.NonZeros);
        Assert.Equal(13, statistics.FullTrain!.NonZeros);
        Assert.Equal(2, statistics.Test.FilterPairs);
        Assert.Equal(XcDatasetLayout.Dexml, statistics.Layout);
    }
}
