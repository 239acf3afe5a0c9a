using Skim.Core.Datasets;
using Skim.Core.Sparse;
using Skim.MapQueries.Mapping;
using Skim.MapQueries.Reports;
using Skim.Models.Search;

namespace Skim.MapQueries.Tests.Reports;

public class AugmentationReportTests
{
    // Observed: 4 points x 5 labels; label frequencies l0 = 3, l1 = 1, l2 = 1, l3 = 0, l4 = 0.
    private static readonly CsrMatrix s_observed = CsrMatrix.FromRows(5, [[0, 1], [0], [0, 2], []]);

    // Complete: the observed pairs plus (1, l1), (3, l0), (3, l3): three removed pairs.
    private static readonly CsrMatrix s_full = CsrMatrix.FromRows(5, [[0, 1], [0, 1], [0, 2], [0, 3]]);

    [Fact]
    public void A_hand_made_case_gives_the_hand_counted_pairs_deciles_first_points_histogram_and_precision()
    {
        // Given four synthetic queries (of labels l0, l1, l3, l4) whose best neighbours are points 0, 1, 3, 0
        // at rescaled scores 0.875, 0.875, 0.8125, 0.9375, and a second neighbour (point 2) at 0.25
        var firsts = new[] { 0, 1, 3, 0 };
        var cosines = new[] { 0.75f, 0.75f, 0.625f, 0.875f };
        var indices = firsts.SelectMany(f => new[] { f, 2 }).ToArray();
        var scores = cosines.SelectMany(c => new[] { c, -0.5f }).ToArray();
        var neighbours = new KnnResult(4, 2, indices, scores);
        long[] start = [0, 1, 2, 2, 3, 4];
        var result = SkimMapping.Apply(s_observed, neighbours, start, new SkimMappingOptions { TopK = 2, Threshold = 0.8f });

        // When
        var report = AugmentationReports.Build(new AugmentationReportInputs
        {
            Observed = s_observed,
            Full = s_full,
            Result = result,
            Neighbours = neighbours,
            StartIndices = start,
            Orientation = MappingOrientation.QuerySide,
            TopK = 2,
            Threshold = 0.8f,
            SourceText = l => $"label {l}",
            TargetText = p => $"point {p}",
            SyntheticTexts = rows => [.. rows.Select(r => $"synthetic {r}")],
        });

        // Then (0, l0) was already there; (1, l1), (3, l3) and (0, l4) are added
        Assert.Equal(5, report.PairsBefore);
        Assert.Equal(3, report.PairsAdded);
        Assert.Equal(1, report.PairsAlreadyPresent);
        Assert.Equal(8, report.PairsAfter);
        Assert.Equal(2, report.LabelsWithoutPoints);
        Assert.Equal(2, report.LabelsGainingFirstPoint);
        Assert.Equal([3, 4], report.FirstPointLabels);

        // Five labels make five groups, head to tail: l0 (3), l1 (1), l2 (1), l3 (0), l4 (0)
        Assert.Equal(
            [new LabelDecile(1, 1, 3, 3, 3, 0, 0), new LabelDecile(2, 1, 1, 1, 1, 1, 1), new LabelDecile(3, 1, 1, 1, 1, 0, 0), new LabelDecile(4, 1, 0, 0, 0, 1, 1), new LabelDecile(5, 1, 0, 0, 0, 1, 1)],
            report.Deciles);

        // Eight scores: four at 0.25 (bin 5), 0.8125 (bin 16), 0.875 twice (bin 17), 0.9375 (bin 18)
        var expectedCounts = new long[20];
        expectedCounts[5] = 4;
        expectedCounts[16] = 1;
        expectedCounts[17] = 2;
        expectedCounts[18] = 1;
        Assert.Equal(expectedCounts, report.Scores.Counts);
        Assert.Equal(8, report.Scores.Total);
        Assert.Equal(4, report.Scores.AtOrAboveThreshold);
        Assert.Equal(21, report.Scores.BinEdges.Length);

        // Two of the three added pairs are in the complete matrix; two of its three removed pairs were restored;
        // a random guess among the 15 empty cells hits a removed pair 3 times in 15
        var full = report.VersusFull!;
        Assert.Equal(new GroundTruthComparison(3, 2, 3, 2.0 / 3, 2.0 / 3, 15, 0.2), full);

        // The sample holds all four kept mappings with their texts
        Assert.Equal(
            [
                new MappingTriple(0, "synthetic 0", 0, "label 0", 0, "point 0", 0, 0, 0.875f, false),
                new MappingTriple(1, "synthetic 1", 1, "label 1", 1, "point 1", 1, 1, 0.875f, true),
                new MappingTriple(2, "synthetic 2", 3, "label 3", 3, "point 3", 3, 3, 0.8125f, true),
                new MappingTriple(3, "synthetic 3", 4, "label 4", 0, "point 0", 0, 4, 0.9375f, true),
            ],
            report.Sample);
    }

    [Fact]
    public void Twenty_three_labels_split_into_ten_groups_of_three_then_two_ordered_by_frequency_then_id()
    {
        // Given label l with frequency l mod 5 and one added pair on every label
        var frequency = Enumerable.Range(0, 23).Select(l => l % 5).ToArray();
        var added = Enumerable.Repeat(1L, 23).ToArray();

        // When
        var deciles = AugmentationReports.Deciles(frequency, added);

        // Then the sizes follow numpy.array_split and the head group holds the most frequent labels
        Assert.Equal([3, 3, 3, 2, 2, 2, 2, 2, 2, 2], deciles.Select(d => d.Labels));
        Assert.Equal(23, deciles.Sum(d => d.PairsAdded));
        Assert.Equal((4, 4), (deciles[0].MinFrequency, deciles[0].MaxFrequency));
        Assert.Equal((0, 0), (deciles[^1].MinFrequency, deciles[^1].MaxFrequency));
        Assert.True(deciles.Zip(deciles.Skip(1)).All(p => p.First.MinFrequency >= p.Second.MaxFrequency), "groups must run from head to tail");
    }

    [Fact]
    public void Nothing_added_gives_zero_precision_and_recall_rather_than_nan()
    {
        var comparison = AugmentationReports.Compare(s_observed, s_full, CsrMatrix.Empty(4, 5));

        Assert.Equal(new GroundTruthComparison(0, 0, 3, 0, 0, 15, 0.2), comparison);
    }
}
