using System.Text.Json;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;
using Skim.MapQueries.Mapping;
using Skim.Models.Search;

namespace Skim.MapQueries.Tests.Mapping;

public class SkimMappingReferenceTests
{
    [SkippableTheory]
    [InlineData(MappingOrientation.QuerySide, 1, 10, true)]
    [InlineData(MappingOrientation.QuerySide, 2, 4, false)]
    [InlineData(MappingOrientation.LabelSide, 3, 10, true)]
    [InlineData(MappingOrientation.LabelSide, 4, 20, false)]
    public void The_augmented_matrix_and_counts_equal_the_numpy_scipy_reference_on_random_inputs(
        MappingOrientation orientation, int seed, int topK, bool closingOffset)
    {
        PythonReference.Require("numpy", "scipy");

        // Given a random train matrix, random neighbour lists (ties, exact-threshold scores and repeated
        // targets included) and random offsets with empty sources
        using var temp = new TempDirectory();
        var random = new Random(seed);
        const int Points = 60;
        const int Labels = 40;
        const int Width = 15;
        var train = RandomTrain(random, Points, Labels);
        var querySide = orientation == MappingOrientation.QuerySide;
        var sources = querySide ? Labels : Points;
        var targets = querySide ? Points : Labels;
        var (start, syntheticRows) = RandomOffsets(random, sources, closingOffset);
        var neighbours = RandomNeighbours(random, syntheticRows, Width, targets);
        var paths = Write(temp, train, neighbours, start);
        var options = new SkimMappingOptions { Orientation = orientation, TopK = topK };

        // When
        var result = SkimMapping.ApplyFiles(paths.Train, paths.Indices, paths.Scores, paths.Start, options);
        var ours = result.Save(temp.File("ours"));
        var stdout = PythonReference.Run(
            PythonReference.Script("skim_mapping.py"),
            paths.Train,
            paths.Indices,
            paths.Scores,
            paths.Start,
            temp.File("reference.npz"),
            "--orientation",
            querySide ? "query" : "label",
            "--top-k",
            topK.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // Then the CSR arrays are identical, bit for bit
        var expected = SparseNpz.Load(temp.File("reference.npz"));
        var actual = SparseNpz.Load(ours);
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Columns, actual.Columns);
        Assert.Equal(expected.IndPtr, actual.IndPtr);
        Assert.Equal(expected.Indices, actual.Indices);
        Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), actual.Data.Select(BitConverter.SingleToInt32Bits));
        Assert.True(result.Statistics.NewPairs > 0, "the random case must add pairs to be a test");
        Assert.True(result.Statistics.AlreadyPresent > 0, "the random case must hit existing pairs to be a test");
        using var counts = JsonDocument.Parse(stdout);
        var root = counts.RootElement;
        var stats = result.Statistics;
        Assert.Equal(root.GetProperty("synthetic_rows").GetInt64(), stats.SyntheticRows);
        Assert.Equal(root.GetProperty("pairs_proposed").GetInt64(), stats.PairsProposed);
        Assert.Equal(root.GetProperty("pairs_kept").GetInt64(), stats.PairsKept);
        Assert.Equal(root.GetProperty("distinct_pairs").GetInt64(), stats.DistinctPairs);
        Assert.Equal(root.GetProperty("new_pairs").GetInt64(), stats.NewPairs);
        Assert.Equal(root.GetProperty("already_present").GetInt64(), stats.AlreadyPresent);
        Assert.Equal(root.GetProperty("rows_touched").GetInt32(), stats.RowsTouched);
        Assert.Equal(root.GetProperty("labels_touched").GetInt32(), stats.LabelsTouched);
        Assert.Equal(root.GetProperty("augmented_nnz").GetInt64(), stats.AugmentedNonZeros);
    }

    private static CsrMatrix RandomTrain(Random random, int rows, int columns)
    {
        var r = new List<int>();
        var c = new List<int>();
        var v = new List<float>();
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
                if (random.NextDouble() < 0.15)
                {
                    r.Add(i);
                    c.Add(j);

                    // Mostly 1 (clicks), sometimes a count above 1 or a soft value, to exercise the clip.
                    v.Add(random.Next(5) switch { 0 => 2f, 1 => 0.25f, _ => 1f });
                }
            }
        }
        return CsrMatrix.FromTriples(rows, columns, r.ToArray(), c.ToArray(), v.ToArray());
    }

    private static (long[] Start, int SyntheticRows) RandomOffsets(Random random, int sources, bool closingOffset)
    {
        // Cover all sources, or (with the closing entry) only the first two thirds of them.
        var covered = closingOffset ? sources * 2 / 3 : sources;
        var start = new List<long> { 0 };
        for (var s = 1; s < covered; s++)
        {
            start.Add(start[^1] + random.Next(0, 6));
        }
        var rows = (int)start[^1] + random.Next(1, 6);
        if (closingOffset)
        {
            start.Add(rows);
        }
        return ([.. start], rows);
    }

    private static KnnResult RandomNeighbours(Random random, int rows, int width, int targets)
    {
        var indices = new int[rows * width];
        var scores = new float[rows * width];
        for (var i = 0; i < rows; i++)
        {
            var score = 1f;
            for (var j = 0; j < width; j++)
            {
                indices[(i * width) + j] = random.Next(targets);

                // Descending cosines with repeats and, now and then, exactly the 0.8 rescaled boundary.
                score = random.Next(6) switch
                {
                    0 => score,
                    1 => Math.Min(score, 0.6f),
                    _ => score - (float)(random.NextDouble() * 0.12),
                };
                scores[(i * width) + j] = score;
            }
        }
        return new KnnResult(rows, width, indices, scores);
    }

    private static (string Train, string Indices, string Scores, string Start) Write(TempDirectory temp, CsrMatrix train, KnnResult neighbours, long[] start)
    {
        var paths = (temp.File("trn_X_Y.npz"), temp.File(KnnResult.IndicesFileName), temp.File(KnnResult.ScoresFileName), temp.File(SkimMapping.StartIndicesFileName));
        SparseNpz.Save(paths.Item1, train);
        neighbours.Save(paths.Item2, paths.Item3);
        NpyFile.Write(paths.Item4, NpyArray.Create(start, start.Length));
        return paths;
    }
}
