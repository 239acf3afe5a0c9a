using System.Globalization;
using System.Text.Json;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Metrics;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Metrics;

/// <summary>Our metrics against the independent numpy implementation in bench/reference/xc_metrics.py.</summary>
public class XcMetricsParityTests
{
    private const int MaxK = 10;

    [SkippableTheory]
    [InlineData(1, true, false, false)]
    [InlineData(2, false, false, false)]
    [InlineData(3, false, true, false)]
    [InlineData(4, true, true, true)]
    [InlineData(5, false, true, true)]
    public void Random_score_matrices_match_the_numpy_reference(int seed, bool binaryTruth, bool withFilter, bool dropZeroScores)
    {
        PythonReference.Require("numpy", "scipy");

        // Given random ground truth (empty rows, optionally non-binary), tied scores on a coarse grid with
        // explicit zeros and negatives, rows shorter than k, a train matrix and optionally a filter
        var random = new Random(seed);
        const int rows = 400;
        const int labels = 60;
        var truth = MetricsFixtures.RandomTruth(random, rows, labels, 5, binaryTruth);
        var train = MetricsFixtures.RandomTruth(random, 700, labels, 4, binary: true);
        var scores = MetricsFixtures.RandomScores(random, rows, labels, 15, withNegatives: true);
        using var dir = new TempDirectory();
        SparseNpz.Save(dir.File("truth.npz"), truth);
        SparseNpz.Save(dir.File("train.npz"), train);
        SparseNpz.Save(dir.File("scores.npz"), scores);
        PredictionFilter? filter = null;
        List<string> arguments =
        [
            MetricsFixtures.ReferenceScript("xc_metrics.py"),
            "--truth", dir.File("truth.npz"), "--scores", dir.File("scores.npz"), "--train", dir.File("train.npz"),
            "--A", "0.6", "--B", "2.6", "--k", string.Join(',', Enumerable.Range(1, MaxK)),
        ];
        if (withFilter)
        {
            filter = WriteFilter(random, scores, dir.File("filter.txt"));
            arguments.AddRange(["--filter", dir.File("filter.txt")]);
        }
        if (dropZeroScores)
        {
            arguments.Add("--drop-zero-scores");
        }

        // When
        var ours = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions
        {
            MaxK = MaxK,
            InversePropensity = InversePropensity.Compute(train, 0.6, 2.6),
            Filter = filter,
            DropZeroScores = dropZeroScores,
        });
        using var reference = JsonDocument.Parse(PythonReference.Run([.. arguments]));

        // Then every metric at every k agrees to 1e-6
        AssertClose(reference, "P", ours.Precision);
        AssertClose(reference, "nDCG", ours.Ndcg);
        AssertClose(reference, "R", ours.Recall);
        AssertClose(reference, "PSP", ours.PsPrecision!);
        AssertClose(reference, "PSnDCG", ours.PsNdcg!);
    }

    [SkippableFact]
    public void A_dense_score_matrix_with_a_filter_matches_the_numpy_reference()
    {
        PythonReference.Require("numpy", "scipy");

        // Given a dense 300 x 40 matrix of tied scores, non-binary ground truth and a filter
        var random = new Random(9);
        const int rows = 300;
        const int labels = 40;
        var truth = MetricsFixtures.RandomTruth(random, rows, labels, 6, binary: false);
        var train = MetricsFixtures.RandomTruth(random, 500, labels, 4, binary: true);
        var dense = new float[rows * labels];
        for (var i = 0; i < dense.Length; i++)
        {
            dense[i] = random.Next(-2, 9) / 8f;
        }
        var sparseView = MetricsFixtures.Matrix(labels, [.. Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, labels).Select(l => (l, dense[(r * labels) + l])).ToArray())]);
        using var dir = new TempDirectory();
        SparseNpz.Save(dir.File("truth.npz"), truth);
        SparseNpz.Save(dir.File("train.npz"), train);
        NpyFile.Write(dir.File("scores.npy"), NpyArray.Create(dense, rows, labels));
        var filter = WriteFilter(random, sparseView, dir.File("filter.txt"));

        // When
        var ours = XcMetrics.Evaluate(dense, rows, labels, truth, new XcMetricsOptions
        {
            MaxK = MaxK,
            InversePropensity = InversePropensity.Compute(train, 0.55, 1.5),
            Filter = filter,
        });
        using var reference = JsonDocument.Parse(PythonReference.Run(
            MetricsFixtures.ReferenceScript("xc_metrics.py"),
            "--truth", dir.File("truth.npz"), "--scores", dir.File("scores.npy"), "--train", dir.File("train.npz"),
            "--filter", dir.File("filter.txt"), "--k", string.Join(',', Enumerable.Range(1, MaxK))));

        // Then filtered labels are replaced by the next best, as in the reference
        AssertClose(reference, "P", ours.Precision);
        AssertClose(reference, "nDCG", ours.Ndcg);
        AssertClose(reference, "R", ours.Recall);
        AssertClose(reference, "PSP", ours.PsPrecision!);
        AssertClose(reference, "PSnDCG", ours.PsNdcg!);
    }

    // Filters a third of the stored predictions of some rows (hits among them) plus pairs that were
    // never predicted, and writes them in the XC repository's "point label" text format.
    private static PredictionFilter WriteFilter(Random random, CsrMatrix scores, string path)
    {
        var points = new List<int>();
        var labels = new List<int>();
        for (var row = 0; row < scores.Rows; row++)
        {
            foreach (var label in scores.RowIndices(row))
            {
                if (random.Next(3) == 0)
                {
                    points.Add(row);
                    labels.Add(label);
                }
            }
            if (random.Next(10) == 0)
            {
                points.Add(row);
                labels.Add(random.Next(scores.Columns));
            }
        }
        File.WriteAllLines(path, points.Select((p, i) => string.Create(CultureInfo.InvariantCulture, $"{p} {labels[i]}")));
        return new PredictionFilter(scores.Rows, scores.Columns, [.. points], [.. labels]);
    }

    private static void AssertClose(JsonDocument reference, string name, double[] ours)
    {
        var expected = reference.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(expected.Length, ours.Length);
        for (var k = 0; k < ours.Length; k++)
        {
            Assert.True(Math.Abs(expected[k] - ours[k]) <= 1e-6, $"{name}@{k + 1}: numpy {expected[k]:R}, ours {ours[k]:R}");
        }
    }
}
