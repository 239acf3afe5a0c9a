using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.MapQueries.Mapping;
using Skim.Models.Search;
using static Skim.MapQueries.Tests.Mapping.MappingSamples;

namespace Skim.MapQueries.Tests.Mapping;

public class SkimMappingTests
{
    [Fact]
    public void Query_side_pairs_each_label_with_the_train_queries_its_synthetic_queries_land_on()
    {
        // Given 3 train queries x 2 labels; label 0 wrote synthetic queries 0 and 1, label 1 wrote query 2
        var train = Dense(new float[,] { { 1, 0 }, { 0, 0 }, { 0, 1 } });
        var neighbours = Neighbours(
            [(1, 0.75f), (2, 0.25f)],
            [(1, 0.875f), (0, 0.625f)],
            [(0, 0.75f), (2, 0.5f)]);
        long[] start = [0, 2, 3];

        // When
        var result = SkimMapping.Apply(train, neighbours, start);

        // Then (q1, L0) keeps the larger of 0.875 and 0.9375; cosines 0.25 and 0.5 fall below 0.8 rescaled
        Assert.Equal(new float[,] { { 0.8125f, 0.875f }, { 0.9375f, 0 }, { 0, 0 } }, result.NewPairs.ToDense());
        Assert.Equal(new float[,] { { 1, 0.875f }, { 0.9375f, 0 }, { 0, 1 } }, result.Augmented.ToDense());
        Assert.Equal(
            new SkimMappingStatistics
            {
                SyntheticRows = 3,
                PairsProposed = 6,
                PairsKept = 4,
                DistinctPairs = 3,
                NewPairs = 2,
                AlreadyPresent = 1,
                RowsTouched = 2,
                LabelsTouched = 2,
                OriginalNonZeros = 2,
                AugmentedNonZeros = 4,
            },
            result.Statistics);
    }

    [Fact]
    public void Label_side_pairs_each_train_point_with_the_labels_its_synthetic_categories_land_on()
    {
        // Given 2 train points x 3 labels; point 0 wrote synthetic category 0, point 1 wrote categories 1 and 2
        var train = Dense(new float[,] { { 0, 0, 1 }, { 0, 0, 0 } });
        var neighbours = Neighbours(
            [(2, 0.875f), (0, 0.75f)],
            [(1, 0.625f), (0, 0.5f)],
            [(1, 0.75f), (2, -0.5f)]);
        long[] start = [0, 1, 3];
        var options = new SkimMappingOptions { Orientation = MappingOrientation.LabelSide };

        // When
        var result = SkimMapping.Apply(train, neighbours, start, options);

        // Then
        Assert.Equal(new float[,] { { 0.875f, 0, 0.9375f }, { 0, 0.875f, 0 } }, result.NewPairs.ToDense());
        Assert.Equal(new float[,] { { 0.875f, 0, 1 }, { 0, 0.875f, 0 } }, result.Augmented.ToDense());
        Assert.Equal(4, result.Statistics.PairsKept);
        Assert.Equal(2, result.Statistics.NewPairs);
        Assert.Equal(1, result.Statistics.AlreadyPresent);
        Assert.Equal(2, result.Statistics.RowsTouched);
        Assert.Equal(2, result.Statistics.LabelsTouched);
        Assert.True(result.Augmented.HasSortedIndices);
    }

    [Fact]
    public void A_rescaled_score_of_exactly_the_threshold_is_kept_and_the_next_float_below_is_not()
    {
        // Given a cosine whose float32 rescaling is exactly 0.8, and the float just below it
        var atThreshold = 0.6f;
        var below = MathF.BitDecrement(atThreshold);
        Assert.Equal(0.8f, (atThreshold + 1f) / 2f);
        Assert.True((below + 1f) / 2f < 0.8f);
        var train = Dense(new float[,] { { 0 }, { 0 } });
        var neighbours = Neighbours([(0, atThreshold), (1, below)]);

        // When
        var result = SkimMapping.Apply(train, neighbours, [0, 1]);

        // Then
        Assert.Equal(new float[,] { { 0.8f }, { 0 } }, result.NewPairs.ToDense());
    }

    [Fact]
    public void A_pair_reached_several_times_keeps_its_largest_score()
    {
        // Given label 0 with three synthetic queries that all land on train query 1
        var train = Dense(new float[,] { { 0 }, { 0 } });
        var neighbours = Neighbours([(1, 0.625f)], [(1, 0.875f)], [(1, 0.75f)]);

        // When
        var result = SkimMapping.Apply(train, neighbours, [0, 3]);

        // Then
        Assert.Equal(0.9375f, result.NewPairs.Get(1, 0));
        Assert.Equal(1, result.NewPairs.NonZeros);
        Assert.Equal(3, result.Statistics.PairsKept);
    }

    [Fact]
    public void The_sum_is_clipped_to_clip_max_everywhere_including_untouched_cells()
    {
        // Given a train matrix holding a 3 (e.g. a click count) away from the new pair
        var train = Dense(new float[,] { { 0.5f, 3 }, { 0, 0 } });
        var neighbours = Neighbours([(0, 0.75f)]);

        // When
        var clipped = SkimMapping.Apply(train, neighbours, [0, 1]);
        var loose = SkimMapping.Apply(train, neighbours, [0, 1], new SkimMappingOptions { ClipMax = 2 });

        // Then
        Assert.Equal(new float[,] { { 1, 1 }, { 0, 0 } }, clipped.Augmented.ToDense());
        Assert.Equal(new float[,] { { 1.375f, 2 }, { 0, 0 } }, loose.Augmented.ToDense());
    }

    [Fact]
    public void Only_the_first_top_k_neighbours_are_considered()
    {
        // Given one synthetic query with three close neighbours
        var train = Dense(new float[,] { { 0 }, { 0 }, { 0 } });
        var neighbours = Neighbours([(2, 0.9f), (0, 0.9f), (1, 0.9f)]);

        // When
        var result = SkimMapping.Apply(train, neighbours, [0, 1], new SkimMappingOptions { TopK = 2 });

        // Then
        Assert.Equal([0, 1, 1, 2], result.NewPairs.IndPtr);
        Assert.Equal(0, result.NewPairs.Get(1, 0));
        Assert.Equal(2, result.Statistics.PairsProposed);
    }

    [Fact]
    public void Offsets_with_one_entry_per_source_and_no_closing_entry_run_the_last_source_to_the_end()
    {
        // Given two labels, the second owning synthetic rows 1 and 2 without a closing offset
        var train = Dense(new float[,] { { 0, 0 }, { 0, 0 } });
        var neighbours = Neighbours([(0, 0.9f)], [(1, 0.9f)], [(0, 0.9f)]);

        // When
        var result = SkimMapping.Apply(train, neighbours, [0, 1]);

        // Then
        Assert.Equal(new float[,] { { 0.95f, 0.95f }, { 0, 0.95f } }, result.NewPairs.ToDense());
    }

    [Fact]
    public void Offsets_covering_only_the_first_sources_leave_the_others_untouched()
    {
        // Given three labels but offsets (with their closing entry) for label 0 only
        var train = Dense(new float[,] { { 0, 0, 0 } });
        var neighbours = Neighbours([(0, 0.9f)]);

        // When
        var result = SkimMapping.Apply(train, neighbours, [0, 1]);

        // Then
        Assert.Equal(new float[,] { { 0.95f, 0, 0 } }, result.NewPairs.ToDense());
    }

    [Theory]
    [InlineData(new long[] { 1, 2 }, "entry 0: expected the first offset to be 0, found 1")]
    [InlineData(new long[] { 0, 2, 1 }, "entry 2: expected non-decreasing offsets, found 1 after 2")]
    [InlineData(new long[] { 0, 1, 1, 1 }, "entry 3: expected a closing offset equal to the 2 synthetic rows")]
    [InlineData(new long[] { 0, 0, 1, 2 }, "expected offsets for at most 2 labels (matrix columns), found 3")]
    [InlineData(new long[] { }, "expected at least one offset")]
    public void Offsets_that_do_not_fit_are_refused_on_one_line(long[] start, string problem)
    {
        // Given 2 synthetic rows and 2 labels
        var train = Dense(new float[,] { { 0, 0 } });
        var neighbours = Neighbours([(0, 0.9f)], [(0, 0.9f)]);

        // When
        var error = Assert.Throws<SkimFormatException>(() => SkimMapping.Apply(train, neighbours, start));

        // Then
        Assert.StartsWith("start_indices.npy: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kept_neighbour_outside_the_matrix_is_refused_naming_row_and_column()
    {
        // Given 2 train queries but a neighbour index 5
        var train = Dense(new float[,] { { 0 }, { 0 } });
        var neighbours = Neighbours([(0, 0.9f), (5, 0.9f)]);

        // When
        var error = Assert.Throws<SkimFormatException>(() => SkimMapping.Apply(train, neighbours, [0, 1]));

        // Then
        Assert.Equal("ngbr_indices_mat.npy: row 0, column 1: expected a neighbour index in [0, 2), found 5", error.Message);
    }

    [Theory]
    [InlineData(0, 0.8f, 1f, "top_k")]
    [InlineData(10, float.NaN, 1f, "threshold")]
    [InlineData(10, 0.8f, -1f, "clip_max")]
    public void Invalid_options_are_refused_naming_the_key(int topK, float threshold, float clipMax, string key)
    {
        // Given
        var options = new SkimMappingOptions { TopK = topK, Threshold = threshold, ClipMax = clipMax };

        // When
        var error = Assert.Throws<SkimConfigException>(options.Validate);

        // Then
        Assert.StartsWith(key + ":", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_are_the_paper_settings()
    {
        // Given / When
        var options = new SkimMappingOptions();

        // Then
        Assert.Equal(10, options.TopK);
        Assert.Equal(0.8f, options.Threshold);
        Assert.Equal(MappingOrientation.QuerySide, options.Orientation);
        Assert.Equal(1f, options.ClipMax);
    }

    [Fact]
    public void ApplyFiles_reads_skim_files_reading_only_top_k_columns_and_saves_trn_X_Y_skim()
    {
        // Given SKIM's files: int64 offsets, a 3-column neighbour pair and the training matrix
        using var temp = new TempDirectory();
        var train = Dense(new float[,] { { 1, 0 }, { 0, 0 }, { 0, 1 } });
        SparseNpz.Save(temp.File("trn_X_Y.npz"), train);
        int[] indices = [1, 2, 0, 0, 1, 2];
        float[] scores = [0.75f, 0.7f, 0.9f, 0.875f, 0.6f, 0.9f];
        long[] start = [0, 1, 2];
        NpyFile.Write(temp.File(KnnResult.IndicesFileName), NpyArray.Create(indices, 2, 3));
        NpyFile.Write(temp.File(KnnResult.ScoresFileName), NpyArray.Create(scores, 2, 3));
        NpyFile.Write(temp.File(SkimMapping.StartIndicesFileName), NpyArray.Create(start, 3));
        var options = new SkimMappingOptions { TopK = 2 };

        // When
        var result = SkimMapping.ApplyFiles(
            temp.File("trn_X_Y.npz"),
            temp.File(KnnResult.IndicesFileName),
            temp.File(KnnResult.ScoresFileName),
            temp.File(SkimMapping.StartIndicesFileName),
            options);
        var saved = result.Save(temp.File("out"));

        // Then the third column (0.9) is never read
        Assert.Equal(temp.File(Path.Combine("out", "trn_X_Y_skim.npz")), saved);
        Assert.True(SparseNpz.Load(saved).ContentEquals(result.Augmented));
        Assert.Equal(new float[,] { { 1, 0.9375f }, { 0.875f, 0.8f }, { 0.85f, 1 } }, result.Augmented.ToDense());
        Assert.Equal(["trn_X_Y_skim.npz"], Directory.GetFiles(temp.File("out")).Select(Path.GetFileName));
    }

    [Fact]
    public void ApplyFiles_names_the_offsets_file_in_its_errors()
    {
        // Given offsets stored as float64
        using var temp = new TempDirectory();
        SparseNpz.Save(temp.File("trn.npz"), Dense(new float[,] { { 0 } }));
        int[] indices = [0];
        float[] scores = [0.9f];
        double[] start = [0, 1];
        NpyFile.Write(temp.File("i.npy"), NpyArray.Create(indices, 1, 1));
        NpyFile.Write(temp.File("s.npy"), NpyArray.Create(scores, 1, 1));
        NpyFile.Write(temp.File("start.npy"), NpyArray.Create(start, 2));

        // When
        var error = Assert.Throws<SkimFormatException>(() =>
            SkimMapping.ApplyFiles(temp.File("trn.npz"), temp.File("i.npy"), temp.File("s.npy"), temp.File("start.npy")));

        // Then
        Assert.Equal($"{temp.File("start.npy")}: expected dtype int32 or int64, found <f8", error.Message);
    }
}
