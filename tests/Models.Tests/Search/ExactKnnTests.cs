using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Models.Search;

namespace Skim.Models.Tests.Search;

[Collection(LibTorchCollection.Name)]
public sealed class ExactKnnTests
{
    private static readonly ExactKnnOptions s_cpu = new() { Device = "cpu" };

    /// <summary>The CPU search with the host selection (the default on CPU) or libtorch's topk (the path other devices take).</summary>
    private static ExactKnnOptions Cpu(bool hostSelection) =>
        s_cpu with { Selection = hostSelection ? KnnSelection.Host : KnnSelection.TorchTopK };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_hand_computed_case_is_sorted_by_score_with_ties_to_the_lower_index(bool hostSelection)
    {
        // Given database rows (1,0) (0,1) (1,1) (1,0) and queries (1,0) and (0,2)
        var database = EmbeddingRows.FromArray([1, 0, 0, 1, 1, 1, 1, 0], 4, 2);
        var queries = EmbeddingRows.FromArray([1, 0, 0, 2], 2, 2);

        // When
        var result = ExactKnn.Search(queries, database, Cpu(hostSelection) with { K = 3 });

        // Then query 0 scores 1,0,1,1 (three-way tie → 0,2,3); query 1 scores 0,2,2,0 (tie → 1,2, then 0)
        Assert.Equal([0, 2, 3, 1, 2, 0], result.Indices);
        Assert.Equal([1f, 1, 1, 2, 2, 0], result.Scores);
        Assert.Equal(2, result.Rows);
        Assert.Equal(3, result.K);
    }

    [Theory]
    [InlineData(1, 1, true)]
    [InlineData(7, 5, true)]
    [InlineData(64, 64, true)]
    [InlineData(1000, 1000, true)]
    [InlineData(3, 97, true)]
    [InlineData(1, 1, false)]
    [InlineData(7, 5, false)]
    [InlineData(3, 97, false)]
    public void Block_sizes_do_not_change_the_result_even_with_many_ties_across_blocks(int queryBlock, int databaseBlock, bool hostSelection)
    {
        // Given small-integer embeddings: every score is an exact integer and ties are everywhere
        var (queries, database) = IntegerEmbeddings(seed: 11, queryRows: 40, databaseRows: 150, dimension: 6);
        var options = Cpu(hostSelection) with { K = 12, QueryBlockSize = queryBlock, DatabaseBlockSize = databaseBlock };

        // When
        var result = ExactKnn.Search(queries.Rows, database.Rows, options);

        // Then it equals a brute-force ranking by (score descending, index ascending)
        var (expectedIndices, expectedScores) = BruteForce(queries.Values, database.Values, 40, 150, 6, 12);
        Assert.Equal(expectedIndices, result.Indices);
        Assert.Equal(expectedScores, result.Scores);
    }

    [Theory]
    [InlineData(65536, true)]
    [InlineData(5000, true)]
    [InlineData(65536, false)]
    [InlineData(5000, false)]
    public void A_database_wider_than_one_score_block_gives_the_brute_force_ranking_with_ties(int databaseBlock, bool hostSelection)
    {
        // Given more database rows than one score block holds (8,192), with integer scores full of ties
        var (queries, database) = IntegerEmbeddings(seed: 13, queryRows: 9, databaseRows: 20_000, dimension: 3);
        var options = Cpu(hostSelection) with { K = 50, QueryBlockSize = 4, DatabaseBlockSize = databaseBlock };

        // When
        var result = ExactKnn.Search(queries.Rows, database.Rows, options);

        // Then it equals the ranking by (score descending, index ascending)
        var (expectedIndices, expectedScores) = BruteForce(queries.Values, database.Values, 9, 20_000, 3, 50);
        Assert.Equal(expectedIndices, result.Indices);
        Assert.Equal(expectedScores, result.Scores);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Without_ties_a_database_wider_than_one_score_block_gives_the_same_neighbours_as_one_whole_block_of_scores(bool hostSelection)
    {
        // Given Gaussian rows (distinct scores, so each score block takes the quick top-k) across three score blocks
        var (queries, database) = GaussianEmbeddings(seed: 17, queryRows: 7, databaseRows: 20_000, dimension: 16);

        // When searched as loaded blocks of 6,000 rows, and as one block
        var split = ExactKnn.Search(queries.Rows, database.Rows, Cpu(hostSelection) with { K = 40, DatabaseBlockSize = 6_000 });
        var whole = ExactKnn.Search(queries.Rows, database.Rows, Cpu(hostSelection) with { K = 40 });

        // Then both equal a ranking of the full score rows computed here
        for (var r = 0; r < 7; r++)
        {
            var scores = Enumerable.Range(0, 20_000).Select(j => Enumerable.Range(0, 16).Sum(d => (double)queries.Values[(r * 16) + d] * database.Values[(j * 16) + d])).ToArray();
            var expected = Enumerable.Range(0, 20_000).OrderByDescending(j => scores[j]).ThenBy(j => j).Take(40).ToArray();
            Assert.Equal(expected, split.RowIndices(r).ToArray());
            Assert.Equal(expected, whole.RowIndices(r).ToArray());
        }
    }

    [SkippableTheory]
    [InlineData(true, 16, 16, 10, true)]
    [InlineData(false, 32, 50, 25, true)]
    [InlineData(true, 16, 16, 10, false)]
    [InlineData(false, 32, 50, 25, false)]
    public void The_neighbours_equal_the_numpy_argsort_reference(bool integers, int queryBlock, int databaseBlock, int k, bool hostSelection)
    {
        PythonReference.Require("numpy");

        // Given embeddings saved as .npy and read back through memory maps
        using var temp = new TempDirectory();
        var (queries, database) = integers
            ? IntegerEmbeddings(seed: 5, queryRows: 70, databaseRows: 120, dimension: 8)
            : GaussianEmbeddings(seed: 6, queryRows: 70, databaseRows: 120, dimension: 16);
        NpyFile.Write(temp.File("q.npy"), NpyArray.Create(queries.Values, 70, queries.Rows.Dimension));
        NpyFile.Write(temp.File("db.npy"), NpyArray.Create(database.Values, 120, database.Rows.Dimension));
        using var queryMap = NpyMemoryMap.Open(temp.File("q.npy"));
        using var databaseMap = NpyMemoryMap.Open(temp.File("db.npy"));
        var options = Cpu(hostSelection) with { K = k, QueryBlockSize = queryBlock, DatabaseBlockSize = databaseBlock };

        // When
        ExactKnn.SearchToFiles(EmbeddingRows.FromNpy(queryMap), EmbeddingRows.FromNpy(databaseMap), temp.File("ours"), options);
        PythonReference.Run(PythonReference.Script("exact_knn.py"), temp.File("q.npy"), temp.File("db.npy"), k.ToString(System.Globalization.CultureInfo.InvariantCulture), temp.File("reference"));

        // Then
        var ours = KnnResult.Load(temp.File(Path.Combine("ours", KnnResult.IndicesFileName)), temp.File(Path.Combine("ours", KnnResult.ScoresFileName)));
        var reference = KnnResult.Load(temp.File(Path.Combine("reference", KnnResult.IndicesFileName)), temp.File(Path.Combine("reference", KnnResult.ScoresFileName)));
        Assert.Equal(reference.Indices, ours.Indices);
        if (integers)
        {
            Assert.Equal(reference.Scores, ours.Scores);
        }
        else
        {
            Assert.All(reference.Scores.Zip(ours.Scores), p => Assert.Equal(p.First, p.Second, 1e-5f));
        }
    }

    [Fact]
    public void The_streaming_variant_writes_int32_and_float32_files_equal_to_the_in_memory_result()
    {
        // Given
        using var temp = new TempDirectory();
        var (queries, database) = GaussianEmbeddings(seed: 3, queryRows: 33, databaseRows: 20, dimension: 4);
        var options = s_cpu with { K = 5, QueryBlockSize = 8, DatabaseBlockSize = 6 };
        var reports = new List<ExactKnnProgress>();

        // When
        var inMemory = ExactKnn.Search(queries.Rows, database.Rows, options);
        ExactKnn.SearchToFiles(queries.Rows, database.Rows, temp.Path, options, new SynchronousProgress(reports));

        // Then
        var indices = NpyFile.Read(temp.File(KnnResult.IndicesFileName));
        var scores = NpyFile.Read(temp.File(KnnResult.ScoresFileName));
        Assert.Equal(NpyDType.Int32, indices.DType);
        Assert.Equal(NpyDType.Float32, scores.DType);
        Assert.Equal([33L, 5], indices.Shape);
        Assert.Equal(inMemory.Indices, indices.As<int>());
        Assert.Equal(inMemory.Scores, scores.As<float>());
        Assert.Equal([8L, 16, 24, 32, 33], reports.Select(r => r.QueriesDone));
        Assert.All(reports, r => Assert.Equal(33, r.QueryCount));
    }

    [Fact]
    public void A_cancelled_streaming_search_leaves_no_files()
    {
        // Given a token cancelled after the first block is reported
        using var temp = new TempDirectory();
        var (queries, database) = GaussianEmbeddings(seed: 4, queryRows: 30, databaseRows: 10, dimension: 3);
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress([], cancel.Cancel);

        // When
        Assert.ThrowsAny<OperationCanceledException>(() =>
            ExactKnn.SearchToFiles(queries.Rows, database.Rows, temp.Path, s_cpu with { K = 2, QueryBlockSize = 10 }, progress, cancel.Token));

        // Then
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void K_above_the_database_rows_is_refused_with_both_numbers()
    {
        // Given 3 database rows
        var database = EmbeddingRows.FromArray(new float[6], 3, 2, "labels.npy");
        var queries = EmbeddingRows.FromArray(new float[2], 1, 2);

        // When
        var error = Assert.Throws<SkimConfigException>(() => ExactKnn.Search(queries, database, s_cpu with { K = 4 }));

        // Then
        Assert.Equal("k: 4 neighbours asked for but the database labels.npy has only 3 rows; use k <= 3", error.Message);
    }

    [Fact]
    public void Different_embedding_sizes_and_a_non_positive_k_are_refused()
    {
        // Given
        var database = EmbeddingRows.FromArray(new float[6], 3, 2, "db");
        var queries = EmbeddingRows.FromArray(new float[3], 1, 3, "q");

        // When
        var sizes = Assert.Throws<SkimConfigException>(() => ExactKnn.Search(queries, database, s_cpu with { K = 1 }));
        var zero = Assert.Throws<SkimConfigException>(() => ExactKnn.Search(database, database, s_cpu with { K = 0 }));

        // Then
        Assert.Equal("q: expected embeddings of the database's size 2 (db), found 3", sizes.Message);
        Assert.StartsWith("k: expected a positive", zero.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mapped_file_that_is_not_2d_float32_is_refused_naming_the_file()
    {
        // Given a float64 matrix
        using var temp = new TempDirectory();
        double[] values = [1, 2];
        NpyFile.Write(temp.File("e.npy"), NpyArray.Create(values, 1, 2));
        using var map = NpyMemoryMap.Open(temp.File("e.npy"));

        // When
        var error = Assert.Throws<SkimFormatException>(() => EmbeddingRows.FromNpy(map));

        // Then
        Assert.Equal($"{temp.File("e.npy")}: expected dtype float32 (<f4) or float16 (<f2), found <f8", error.Message);
    }

    [Theory]
    [InlineData(3, true)]
    [InlineData(4, false)]
    public void Searches_of_target_shards_merged_equal_one_search_of_all_targets(int shardCount, bool hostSelection)
    {
        // Given integer embeddings (exact scores, ties across shard boundaries) and uneven target shards
        var (queries, database) = IntegerEmbeddings(seed: 23, queryRows: 30, databaseRows: 500, dimension: 5);
        var options = Cpu(hostSelection) with { K = 25, QueryBlockSize = 7, DatabaseBlockSize = 64 };
        var bounds = Enumerable.Range(0, shardCount + 1).Select(s => (long)(500.0 * s * s / (shardCount * shardCount))).ToArray();

        // When each shard is searched on its own and the results are merged
        var shards = Enumerable.Range(0, shardCount)
            .Select(s => ExactKnn.Search(queries.Rows, database.Rows.Slice(bounds[s], bounds[s + 1] - bounds[s]), options with { K = (int)Math.Min(25, bounds[s + 1] - bounds[s]) }))
            .ToList();
        var merged = KnnResult.MergeTargetShards(shards, bounds[..^1], 25);

        // Then it equals one search of all targets, and the brute-force ranking
        var whole = ExactKnn.Search(queries.Rows, database.Rows, options);
        Assert.Equal(whole.Indices, merged.Indices);
        Assert.Equal(whole.Scores, merged.Scores);
        var (expectedIndices, _) = BruteForce(queries.Values, database.Values, 30, 500, 5, 25);
        Assert.Equal(expectedIndices, merged.Indices);
    }

    [Fact]
    public void A_float16_file_is_searched_as_its_values_widened_to_float32()
    {
        // Given Gaussian targets stored as float16, read through a map in more than one buffer's worth of rows
        using var temp = new TempDirectory();
        var (queries, database) = GaussianEmbeddings(seed: 21, queryRows: 5, databaseRows: 600, dimension: 700);
        var half = database.Values.Select(v => (Half)v).ToArray();
        NpyFile.Write(temp.File("db16.npy"), NpyArray.Create(half, 600, 700));
        var widened = half.Select(h => (float)h).ToArray();
        using var map = NpyMemoryMap.Open(temp.File("db16.npy"));

        // When searched from the float16 file and from the widened values in memory
        var fromFile = ExactKnn.Search(queries.Rows, EmbeddingRows.FromNpy(map), s_cpu with { K = 30, DatabaseBlockSize = 500 });
        var fromArray = ExactKnn.Search(queries.Rows, EmbeddingRows.FromArray(widened, 600, 700), s_cpu with { K = 30, DatabaseBlockSize = 500 });

        // Then the results are identical
        Assert.Equal(fromArray.Indices, fromFile.Indices);
        Assert.Equal(fromArray.Scores, fromFile.Scores);
    }

    private static ((EmbeddingRows Rows, float[] Values) Queries, (EmbeddingRows Rows, float[] Values) Database) IntegerEmbeddings(int seed, int queryRows, int databaseRows, int dimension)
    {
        var random = new Random(seed);
        float[] Draw(int rows) => Enumerable.Range(0, rows * dimension).Select(_ => (float)random.Next(-2, 3)).ToArray();
        var q = Draw(queryRows);
        var d = Draw(databaseRows);
        return ((EmbeddingRows.FromArray(q, queryRows, dimension), q), (EmbeddingRows.FromArray(d, databaseRows, dimension), d));
    }

    private static ((EmbeddingRows Rows, float[] Values) Queries, (EmbeddingRows Rows, float[] Values) Database) GaussianEmbeddings(int seed, int queryRows, int databaseRows, int dimension)
    {
        var random = new Random(seed);
        float[] Draw(int rows) => Enumerable.Range(0, rows * dimension)
            .Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))
            .ToArray();
        var q = Draw(queryRows);
        var d = Draw(databaseRows);
        return ((EmbeddingRows.FromArray(q, queryRows, dimension), q), (EmbeddingRows.FromArray(d, databaseRows, dimension), d));
    }

    private static (int[] Indices, float[] Scores) BruteForce(float[] queries, float[] database, int n, int m, int d, int k)
    {
        var indices = new List<int>();
        var scores = new List<float>();
        for (var i = 0; i < n; i++)
        {
            var ranked = Enumerable.Range(0, m)
                .Select(j => (Index: j, Score: (float)Enumerable.Range(0, d).Sum(t => (double)queries[(i * d) + t] * database[(j * d) + t])))
                .OrderByDescending(p => p.Score)
                .ThenBy(p => p.Index)
                .Take(k)
                .ToArray();
            indices.AddRange(ranked.Select(p => p.Index));
            scores.AddRange(ranked.Select(p => p.Score));
        }
        return ([.. indices], [.. scores]);
    }

    /// <summary>Records reports on the calling thread (Progress&lt;T&gt; would post them later).</summary>
    private sealed class SynchronousProgress(List<ExactKnnProgress> reports, Action? onReport = null) : IProgress<ExactKnnProgress>
    {
        public void Report(ExactKnnProgress value)
        {
            reports.Add(value);
            onReport?.Invoke();
        }
    }
}
