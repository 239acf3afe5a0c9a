using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Manifests;
using Skim.Core.Stages;
using Skim.MapQueries.Mapping;
using Skim.MapQueries.Reports;
using Skim.MapQueries.Step2;
using Skim.Models.Search;

namespace Skim.MapQueries.Tests.Step2;

[Collection(MapQueriesLibTorchCollection.Name)]
public sealed class Step2StageTests(Step2TestData data) : IClassFixture<Step2TestData>
{
    // Only exact copies (cosine 1, up to rounding) pass: the planted pairs, nothing the random encoder happens to find close.
    private const float ExactThreshold = 0.99999f;

    [Theory]
    [InlineData(MappingOrientation.QuerySide)]
    [InlineData(MappingOrientation.LabelSide)]
    public async Task Planted_copies_of_removed_pairs_are_added_and_scored_against_the_full_matrix(MappingOrientation orientation)
    {
        // Given synthetic texts that copy the texts of pairs the observed matrix lost
        var output = data.NewFolder("e2e");
        var options = data.Options(output, orientation) with { Threshold = ExactThreshold };

        // When
        var summary = await Run(options);

        // Then every planted pair is in trn_X_Y_skim.npz, the observed pairs stay, and nothing else was added
        var querySide = orientation == MappingOrientation.QuerySide;
        var targets = querySide ? Step2TestData.Points : Step2TestData.Labels;
        var synthetic = querySide ? 18 : 36;
        Assert.Equal((synthetic, 5L), Shape(Path.Combine(output, KnnResult.IndicesFileName)));
        Assert.Equal(NpyDType.Int32, NpyFile.ReadHeader(Path.Combine(output, KnnResult.IndicesFileName)).DType);
        Assert.Equal(NpyDType.Float32, NpyFile.ReadHeader(Path.Combine(output, KnnResult.ScoresFileName)).DType);
        Assert.Equal(targets, Shape(Path.Combine(output, "embeddings", Step2Stage.TargetEmbeddingsFileName(orientation))).Rows);
        Assert.Equal(synthetic, Shape(Path.Combine(output, "embeddings", Step2Stage.RewriteEmbeddingsFileName)).Rows);
        var augmented = SparseNpz.Load(Path.Combine(output, SkimMappingResult.AugmentedFileName));
        foreach (var (row, label) in Step2TestData.PlantedPairs)
        {
            Assert.True(augmented.Get(row, label) >= ExactThreshold, $"pair ({row}, {label}) was not added");
        }
        for (var i = 0; i < Step2TestData.Points; i++)
        {
            Assert.Equal(1f, augmented.Get(i, i % Step2TestData.Labels));
        }
        Assert.Equal(Step2TestData.Points + Step2TestData.Removed, augmented.NonZeros);
        Assert.Equal(Step2TestData.Removed, summary["pairs_added"]!.GetValue<long>());
        Assert.Equal(1.0, summary["precision"]!.GetValue<double>());
        Assert.Equal(1.0, summary["recall"]!.GetValue<double>());
        var report = AugmentationReports.Load(Path.Combine(output, AugmentationReports.FileName));
        Assert.Equal(Step2TestData.Removed, report.VersusFull!.AddedInFull);
        Assert.All(report.Sample, t => Assert.Equal(t.SyntheticText, t.MappedText));
        Assert.NotEmpty(report.Sample);
        Assert.True(RunManifest.Read(output)!.Complete);
        Assert.True(File.Exists(Path.Combine(output, AugmentationReports.HistogramFileName)));
        Assert.True(summary["histogram_png"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Float16_embeddings_are_stored_as_f2_and_still_find_the_planted_pairs()
    {
        var output = data.NewFolder("f16");

        await Run(data.Options(output) with { EmbeddingDType = "float16", Threshold = 0.999f });

        Assert.Equal(NpyDType.Float16, NpyFile.ReadHeader(Path.Combine(output, "embeddings", Step2Stage.TrainEmbeddingsFileName)).DType);
        Assert.Equal(NpyDType.Float16, NpyFile.ReadHeader(Path.Combine(output, "embeddings", Step2Stage.RewriteEmbeddingsFileName)).DType);
        var augmented = SparseNpz.Load(Path.Combine(output, SkimMappingResult.AugmentedFileName));
        Assert.All(Step2TestData.PlantedPairs, p => Assert.True(augmented.Get(p.Row, p.Label) >= 0.999f, $"pair {p} was not added"));
    }

    [SkippableTheory]
    [InlineData(MappingOrientation.QuerySide)]
    [InlineData(MappingOrientation.LabelSide)]
    public async Task The_augmented_matrix_equals_the_numpy_scipy_reference_on_the_stage_neighbour_files(MappingOrientation orientation)
    {
        PythonReference.Require("numpy", "scipy");

        // Given a stage run at the SKIM threshold (the random encoder makes many noisy pairs, which is the point here)
        var output = data.NewFolder("parity");
        var options = data.Options(output, orientation) with { Threshold = 0.8f };
        await Run(options);

        // When the reference applies the rule to the same files
        var reference = Path.Combine(output, "reference.npz");
        PythonReference.Run(
            PythonReference.Script("skim_mapping.py"),
            data.TrainMatrix,
            Path.Combine(output, KnnResult.IndicesFileName),
            Path.Combine(output, KnnResult.ScoresFileName),
            Path.Combine(options.GenerationsDirectory, SkimMapping.StartIndicesFileName),
            reference,
            "--orientation",
            orientation == MappingOrientation.QuerySide ? "query" : "label",
            "--top-k",
            options.TopK.ToString(CultureInfo.InvariantCulture),
            "--threshold",
            "0.8");

        // Then the CSR arrays are identical, bit for bit
        var expected = SparseNpz.Load(reference);
        var actual = SparseNpz.Load(Path.Combine(output, SkimMappingResult.AugmentedFileName));
        Assert.Equal(expected.IndPtr, actual.IndPtr);
        Assert.Equal(expected.Indices, actual.Indices);
        Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), actual.Data.Select(BitConverter.SingleToInt32Bits));
        Assert.True(actual.NonZeros > Step2TestData.Points, "the case must add pairs to be a test");
    }

    [Fact]
    public async Task A_cancelled_embedding_resumes_without_recomputing_finished_chunks_and_ends_identical()
    {
        // Given a run cancelled once two chunks (8 rows) of synthetic queries are written
        var once = data.NewFolder("once");
        await Run(data.Options(once));
        var resumed = data.NewFolder("resumed");
        var options = data.Options(resumed);
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<StageProgress>(p =>
        {
            if (p.Phase == "embed synthetic" && p.Done >= 8)
            {
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ((IStage)new Step2Stage()).RunAsync(options, progress, cancel.Token));
        Assert.False(RunManifest.Read(resumed)!.Complete);

        // When it runs again
        var reports = new List<StageProgress>();
        var summary = await Run(options, new SynchronousProgress<StageProgress>(reports.Add));

        // Then only the 10 missing rows were embedded, the finished chunks were reported as resumed, and the files equal an uninterrupted run's
        Assert.Equal(18 - 8, summary["rows_embedded"]!.GetValue<long>());
        Assert.Contains(reports, p => p is { Phase: "embed synthetic", Done: 8, Detail: "resumed" });
        Assert.Contains(reports, p => p is { Phase: "embed targets", Detail: "already embedded" });
        foreach (var file in new[] { "embeddings/trn_doc_embeddings.npy", "embeddings/rewrite_doc_embeddings.npy", KnnResult.IndicesFileName, KnnResult.ScoresFileName, SkimMappingResult.AugmentedFileName })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(once, file)), File.ReadAllBytes(Path.Combine(resumed, file)));
        }
    }

    [Fact]
    public async Task A_cancelled_search_resumes_at_its_first_missing_chunk()
    {
        // Given a run cancelled in the search after its second chunk
        var once = data.NewFolder("once");
        await Run(data.Options(once));
        var resumed = data.NewFolder("resumed");
        var options = data.Options(resumed);
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<StageProgress>(p =>
        {
            if (p.Phase == "knn" && p.Done >= 8)
            {
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ((IStage)new Step2Stage()).RunAsync(options, progress, cancel.Token));

        // When it runs again
        var summary = await Run(options);

        // Then nothing is embedded again, only the missing rows are searched, and the neighbours equal an uninterrupted run's
        Assert.Equal(0, summary["rows_embedded"]!.GetValue<long>());
        Assert.Equal(18 - 8, summary["rows_searched"]!.GetValue<long>());
        Assert.Equal(File.ReadAllBytes(Path.Combine(once, KnnResult.IndicesFileName)), File.ReadAllBytes(Path.Combine(resumed, KnnResult.IndicesFileName)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(once, KnnResult.ScoresFileName)), File.ReadAllBytes(Path.Combine(resumed, KnnResult.ScoresFileName)));
    }

    [Fact]
    public async Task Three_row_shards_merged_equal_one_run()
    {
        // Given one unsharded run and three shard runs into another folder
        var once = data.NewFolder("once");
        await Run(data.Options(once));
        var sharded = data.NewFolder("sharded");
        for (var k = 0; k < 3; k++)
        {
            var shardSummary = await Run(data.Options(sharded) with { Shard = $"{k}/3" });
            Assert.True(RunManifest.Read(Step2Stage.ShardDirectory(sharded, k, 3))!.Complete);
            Assert.True(shardSummary["shard_rows"]!.GetValue<long>() > 0);
        }

        // When a run without a shard merges them
        var summary = await Run(data.Options(sharded));

        // Then every file equals the unsharded run's
        Assert.Equal(3, summary["merged_shards"]!.GetValue<int>());
        foreach (var file in new[] { "embeddings/trn_doc_embeddings.npy", "embeddings/rewrite_doc_embeddings.npy", KnnResult.IndicesFileName, KnnResult.ScoresFileName, SkimMappingResult.AugmentedFileName })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(once, file)), File.ReadAllBytes(Path.Combine(sharded, file)));
        }
    }

    [Fact]
    public async Task A_merge_with_a_missing_shard_names_it()
    {
        var sharded = data.NewFolder("sharded");
        await Run(data.Options(sharded) with { Shard = "0/2" });

        var error = await Assert.ThrowsAsync<Core.SkimConfigException>(() => Run(data.Options(sharded)));

        Assert.Contains("1/2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task New_mapping_settings_reuse_the_saved_neighbours_without_the_encoder()
    {
        // Given a complete run
        var output = data.NewFolder("reuse");
        await Run(data.Options(output));

        // When the folder is mapped again with other settings and an encoder path that does not exist
        var options = data.Options(output) with { TopK = 2, Threshold = 0.9f, Encoder = Path.Combine(output, "no-such-encoder") };
        var summary = await Run(options);

        // Then nothing was embedded or searched and the matrix equals the rule applied to the saved files
        Assert.Equal(0, summary["rows_embedded"]!.GetValue<long>());
        Assert.Equal(0, summary["rows_searched"]!.GetValue<long>());
        AssertMatrixEqualsRule(output, output, new SkimMappingOptions { TopK = 2, Threshold = 0.9f });
    }

    [Fact]
    public async Task A_rerun_after_a_mapping_change_keeps_the_embeddings_and_neighbours_and_a_changed_encoding_discards_them()
    {
        // Given a complete run
        var output = data.NewFolder("kept");
        var options = data.Options(output);
        await Run(options);
        var neighbours = File.ReadAllBytes(Path.Combine(output, KnnResult.IndicesFileName));

        // When the pipeline runner re-runs it with another top_k (it clears all but the stage's kept files)
        ClearLikeTheRunner(output);
        var remapped = await Run(options with { TopK = 2 });

        // Then nothing is embedded or searched again and the mapping uses the kept neighbours
        Assert.Equal(0, remapped["rows_embedded"]!.GetValue<long>());
        Assert.Equal(0, remapped["rows_searched"]!.GetValue<long>());
        Assert.Equal("embeddings and neighbours", remapped["reused"]!.GetValue<string>());
        Assert.Equal(neighbours, File.ReadAllBytes(Path.Combine(output, KnnResult.IndicesFileName)));
        AssertMatrixEqualsRule(output, output, new SkimMappingOptions { TopK = 2, Threshold = options.Threshold });

        // When k changes: the embeddings stay, the neighbours are searched again
        ClearLikeTheRunner(output);
        var researched = await Run(options with { TopK = 2, Knn = 4 });
        Assert.Equal(0, researched["rows_embedded"]!.GetValue<long>());
        Assert.True(researched["rows_searched"]!.GetValue<long>() > 0);
        Assert.Equal("embeddings", researched["reused"]!.GetValue<string>());

        // When the texts are encoded differently (max_length): everything is computed again
        ClearLikeTheRunner(output);
        var reembedded = await Run(options with { MaxLength = options.MaxLength - 1 });
        Assert.True(reembedded["rows_embedded"]!.GetValue<long>() > 0);
        Assert.True(reembedded["rows_searched"]!.GetValue<long>() > 0);
        Assert.Null(reembedded["reused"]);
    }

    /// <summary>Deletes what <c>StageExecution</c> deletes before a re-run: all but the stage's kept entries.</summary>
    private static void ClearLikeTheRunner(string folder)
    {
        var kept = new Step2Stage().KeptOnRerun.Select(k => Path.GetFullPath(Path.Combine(folder, k))).ToHashSet();
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder).Where(e => !kept.Contains(Path.GetFullPath(e))))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
    }

    [Fact]
    public async Task A_sweep_writes_each_setting_from_the_same_neighbours()
    {
        // Given a sweep of two settings beside the main one
        var output = data.NewFolder("sweep");
        var options = data.Options(output) with { Sweep = Step2SweepPoint.ParseList("1:0.8, 3:0.95") };

        // When
        var summary = await Run(options);

        // Then each setting has its own matrix and report, equal to the rule applied to the saved neighbours
        AssertMatrixEqualsRule(output, output, new SkimMappingOptions { TopK = 3, Threshold = 0.8f });
        AssertMatrixEqualsRule(output, Path.Combine(output, "sweep", "k1-t0.8"), new SkimMappingOptions { TopK = 1, Threshold = 0.8f });
        AssertMatrixEqualsRule(output, Path.Combine(output, "sweep", "k3-t0.95"), new SkimMappingOptions { TopK = 3, Threshold = 0.95f });
        Assert.True(File.Exists(Path.Combine(output, "sweep", "k1-t0.8", AugmentationReports.FileName)));
        Assert.Equal(2, summary["sweep"]!.AsArray().Count);
    }

    private void AssertMatrixEqualsRule(string neighbours, string folder, SkimMappingOptions options)
    {
        var expected = SkimMapping.ApplyFiles(
            data.TrainMatrix,
            Path.Combine(neighbours, KnnResult.IndicesFileName),
            Path.Combine(neighbours, KnnResult.ScoresFileName),
            Path.Combine(data.QuerySide, SkimMapping.StartIndicesFileName),
            options).Augmented;
        var actual = SparseNpz.Load(Path.Combine(folder, SkimMappingResult.AugmentedFileName));
        Assert.True(expected.ContentEquals(actual), $"{folder}: the matrix differs from the rule's");
    }

    internal static async Task<JsonObject> Run(Step2Options options, IProgress<StageProgress>? progress = null) =>
        await ((IStage)new Step2Stage()).RunAsync(options, progress, CancellationToken.None);

    private static (long Rows, long Columns) Shape(string path)
    {
        var header = NpyFile.ReadHeader(path);
        return (header.Rows, header.RowLength);
    }
}
