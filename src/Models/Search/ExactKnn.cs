using System.Runtime.InteropServices;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Models.Devices;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.Models.Search;

/// <summary>
/// Exact maximum-inner-product search (SKIM's <c>gpu_anns.py</c> step): every query row is scored
/// against every database row with a matmul and the k best are kept. Queries go through in blocks,
/// the database in blocks too, with each block's candidates merged into the running top-k, so memory
/// stays bounded by the block sizes whatever the input sizes. For L2-normalised embeddings the scores
/// are cosine similarities.
/// </summary>
/// <remarks>
/// Results are deterministic: each row is sorted by score descending and equal scores are ordered by
/// ascending database index, whatever the block sizes (<c>torch.topk</c> alone leaves ties in an
/// unspecified order, so the selection below breaks them explicitly).
/// </remarks>
public static class ExactKnn
{
    /// <summary>
    /// Database rows scored at once for the top-k merge. Selecting the top k of a narrow score block
    /// is much cheaper than of a wide one (measured at d = 768: 8,192 columns ran 1.5x faster than
    /// 65,536), while the matmul stays large enough to run at the BLAS rate.
    /// </summary>
    private const int ScoreColumns = 8192;

    /// <summary>Searches in memory and returns the (queries × k) neighbours.</summary>
    /// <exception cref="SkimConfigException">k exceeds the database rows, the dimensions differ, or an option is invalid.</exception>
    public static KnnResult Search(
        EmbeddingRows queries,
        EmbeddingRows database,
        ExactKnnOptions? options = null,
        IProgress<ExactKnnProgress>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(database);
        options ??= new ExactKnnOptions();
        var k = Check(queries, database, options);
        Core.Sparse.CsrMatrix.EnsureNonZerosFit(queries.Rows * k, $"{queries.Name}: neighbour lists");
        var indices = GC.AllocateUninitializedArray<int>((int)(queries.Rows * k));
        var scores = GC.AllocateUninitializedArray<float>((int)(queries.Rows * k));
        Run(queries, database, options, k, (first, blockIndices, blockScores) =>
        {
            blockIndices.CopyTo(indices.AsSpan((int)(first * k)));
            blockScores.CopyTo(scores.AsSpan((int)(first * k)));
        }, progress, ct);
        return new KnnResult((int)queries.Rows, k, indices, scores);
    }

    /// <summary>
    /// Searches and streams the result into <paramref name="outputDirectory"/> as
    /// <c>ngbr_indices_mat.npy</c> (int32) and <c>ngbr_scores_mat.npy</c> (float32), (queries × k)
    /// each, written block by block; the files appear only once complete.
    /// </summary>
    /// <exception cref="SkimConfigException">k exceeds the database rows, the dimensions differ, or an option is invalid.</exception>
    public static void SearchToFiles(
        EmbeddingRows queries,
        EmbeddingRows database,
        string outputDirectory,
        ExactKnnOptions? options = null,
        IProgress<ExactKnnProgress>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(outputDirectory);
        Directory.CreateDirectory(outputDirectory);
        SearchToFiles(queries, database, Path.Combine(outputDirectory, KnnResult.IndicesFileName), Path.Combine(outputDirectory, KnnResult.ScoresFileName), options, progress, ct);
    }

    /// <summary>
    /// Searches and streams the result into <paramref name="indicesPath"/> (int32) and
    /// <paramref name="scoresPath"/> (float32), (queries × k) each, written block by block, so the
    /// neighbours are never all in memory; each file appears only once complete.
    /// </summary>
    /// <exception cref="SkimConfigException">k exceeds the database rows, the dimensions differ, or an option is invalid.</exception>
    public static void SearchToFiles(
        EmbeddingRows queries,
        EmbeddingRows database,
        string indicesPath,
        string scoresPath,
        ExactKnnOptions? options = null,
        IProgress<ExactKnnProgress>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(indicesPath);
        ArgumentNullException.ThrowIfNull(scoresPath);
        options ??= new ExactKnnOptions();
        var k = Check(queries, database, options);
        long[] shape = [queries.Rows, k];
        using var indexWriter = NpyWriter.Create(indicesPath, NpyDType.Int32, shape);
        using var scoreWriter = NpyWriter.Create(scoresPath, NpyDType.Float32, shape);
        Run(queries, database, options, k, (_, blockIndices, blockScores) =>
        {
            indexWriter.WriteRows<int>(blockIndices);
            scoreWriter.WriteRows<float>(blockScores);
        }, progress, ct);
        indexWriter.Complete();
        scoreWriter.Complete();
    }

    private static int Check(EmbeddingRows queries, EmbeddingRows database, ExactKnnOptions options)
    {
        options.Validate();
        if (queries.Dimension != database.Dimension)
        {
            throw new SkimConfigException($"{queries.Name}: expected embeddings of the database's size {database.Dimension} ({database.Name}), found {queries.Dimension}");
        }
        if (options.K > database.Rows)
        {
            throw new SkimConfigException($"k: {options.K} neighbours asked for but the database {database.Name} has only {database.Rows} rows; use k <= {database.Rows}");
        }
        if (database.Rows > int.MaxValue)
        {
            throw new SkimConfigException($"{database.Name}: {database.Rows} rows; neighbour indices are int32, so a database holds at most {int.MaxValue} rows (shard the targets)");
        }
        return options.K;
    }

    private delegate void BlockSink(long firstQuery, ReadOnlySpan<int> indices, ReadOnlySpan<float> scores);

    private static void Run(
        EmbeddingRows queries,
        EmbeddingRows database,
        ExactKnnOptions options,
        int k,
        BlockSink sink,
        IProgress<ExactKnnProgress>? progress,
        CancellationToken ct)
    {
        var device = TorchDevices.ParseDevice(options.Device);
        var databaseBlock = (int)Math.Min(options.DatabaseBlockSize, database.Rows);
        var queryBlock = (int)Math.Max(1, Math.Min(options.QueryBlockSize, queries.Rows));

        // A database that fits in one block is loaded once and reused by every query block.
        using var resident = databaseBlock == database.Rows ? Load(database, 0, databaseBlock, device) : null; // (M, D)
        var hostSelection = options.Selection == KnnSelection.Host
            || (options.Selection == KnnSelection.Auto && device.type == DeviceType.CPU);
        if (hostSelection)
        {
            RunWithHostSelection(queries, database, k, device, databaseBlock, queryBlock, resident, sink, progress, ct);
            return;
        }
        for (long first = 0; first < queries.Rows; first += queryBlock)
        {
            ct.ThrowIfCancellationRequested();
            var rows = (int)Math.Min(queryBlock, queries.Rows - first);
            using (NewDisposeScope())
            {
                var q = Load(queries, first, rows, device); // (Q, D)
                Tensor? bestScores = null; // (Q, k') running best, k' <= k
                Tensor? bestIds = null; // (Q, k') int64 database rows
                for (long loaded = 0; loaded < database.Rows; loaded += databaseBlock)
                {
                    ct.ThrowIfCancellationRequested();
                    var count = (int)Math.Min(databaseBlock, database.Rows - loaded);
                    using var loadScope = NewDisposeScope();
                    var db = resident ?? Load(database, loaded, count, device); // (B, D)
                    for (var column = 0; column < count; column += ScoreColumns)
                    {
                        var width = Math.Min(ScoreColumns, count - column);
                        using var blockScope = NewDisposeScope();
                        var scores = q.mm(db.narrow(0, column, width).t()); // (Q, W)
                        // Running candidates first: their ids are all lower, which the tie rule relies on.
                        var offset = bestScores is null ? 0 : (int)bestScores.shape[1];
                        if (bestScores is not null)
                        {
                            scores = cat([bestScores, scores], 1); // (Q, k' + W)
                        }
                        var runningIds = bestIds;
                        var blockStart = loaded + column;
                        var (topScores, topIds) = SelectTopK(scores, (int)Math.Min(k, scores.shape[1]), positions => IdsAt(positions, runningIds, offset, blockStart), device);
                        bestScores?.Dispose();
                        bestIds?.Dispose();
                        bestScores = topScores.MoveToOuterDisposeScope().MoveToOuterDisposeScope();
                        bestIds = topIds.MoveToOuterDisposeScope().MoveToOuterDisposeScope();
                    }
                }
                using var hostScores = bestScores!.cpu().contiguous(); // (Q, k)
                using var hostIds = bestIds!.to(ScalarType.Int32).cpu().contiguous(); // (Q, k)
                sink(first, MemoryMarshal.Cast<byte, int>(hostIds.bytes), MemoryMarshal.Cast<byte, float>(hostScores.bytes));
            }
            progress?.Report(new ExactKnnProgress(first + rows, queries.Rows));
        }
    }

    /// <summary>
    /// The CPU search: each score block is computed by one matmul into a host buffer and merged into
    /// every row's running top k by <see cref="RunningTopK"/>, which skips, a vector at a time, the
    /// scores below the row's current k-th best.
    /// </summary>
    private static void RunWithHostSelection(
        EmbeddingRows queries,
        EmbeddingRows database,
        int k,
        Device device,
        int databaseBlock,
        int queryBlock,
        Tensor? resident,
        BlockSink sink,
        IProgress<ExactKnnProgress>? progress,
        CancellationToken ct)
    {
        var columns = (int)Math.Min(ScoreColumns, databaseBlock);
        var indices = GC.AllocateUninitializedArray<int>(checked(queryBlock * k));
        var scores = GC.AllocateUninitializedArray<float>(checked(queryBlock * k));
        for (long first = 0; first < queries.Rows; first += queryBlock)
        {
            ct.ThrowIfCancellationRequested();
            var rows = (int)Math.Min(queryBlock, queries.Rows - first);
            var top = new RunningTopK(rows, k);
            using (NewDisposeScope())
            {
                var q = Load(queries, first, rows, device); // (Q, D)
                for (long loaded = 0; loaded < database.Rows; loaded += databaseBlock)
                {
                    ct.ThrowIfCancellationRequested();
                    var count = (int)Math.Min(databaseBlock, database.Rows - loaded);
                    using var loadScope = NewDisposeScope();
                    var db = resident ?? Load(database, loaded, count, device); // (B, D)
                    for (var column = 0; column < count; column += columns)
                    {
                        var width = Math.Min(columns, count - column);
                        using (NewDisposeScope())
                        {
                            using var blockScores = q.mm(db.narrow(0, column, width).t()); // (Q, W) contiguous on the CPU
                            // Read in place: Tensor.bytes spans the tensor's own memory (TensorAccessor copies element by element).
                            top.Add(() => MemoryMarshal.Cast<byte, float>(blockScores.bytes), width, checked((int)(loaded + column)));
                        }
                    }
                }
            }
            top.CopyTo(indices, scores);
            sink(first, indices.AsSpan(0, rows * k), scores.AsSpan(0, rows * k));
            progress?.Report(new ExactKnnProgress(first + rows, queries.Rows));
        }
    }

    /// <summary>
    /// Picks the <paramref name="k"/> best columns of each row, by score descending then id ascending.
    /// Requires that among equal scores of a row, column order already follows id order.
    /// </summary>
    /// <remarks>
    /// Usually one top-(k+1) finds them: unless a row's k-th and (k+1)-th scores are equal, its top k is
    /// unambiguous, and two stable sorts of those k (by id, then by score) give the order. Only when
    /// some row has a tie across the boundary does the exact selection below run on the whole block.
    /// </remarks>
    private static (Tensor Scores, Tensor Ids) SelectTopK(Tensor scores, int k, Func<Tensor, Tensor> idsAt, Device device)
    {
        var n = scores.shape[1];
        var take = (int)Math.Min(k + 1, n);
        var (values, positions) = scores.topk(take, 1); // (Q, k+1) sorted descending
        if (take > k && values.select(1, k - 1).eq(values.select(1, k)).any().item<bool>())
        {
            using var s = new HeldScalars(); // every block: see HeldScalars
            var columns = arange(s.Integer(0), s.Integer(n), s.Integer(1), ScalarType.Int64, device); // (n)
            return SelectTopKWithTies(scores, idsAt(columns.unsqueeze(0).expand(scores.shape[0], n)), k);
        }
        var ids = idsAt(positions.narrow(1, 0, k)); // (Q, k)
        var (byId, idOrder) = ids.sort(1, descending: false, stable: true); // (Q, k)
        var (sorted, order) = values.narrow(1, 0, k).gather(1, idOrder).sort(1, descending: true, stable: true); // (Q, k) stable keeps id order on ties
        return (sorted, byId.gather(1, order));
    }

    /// <summary>The ids of candidate columns: the running best first (<paramref name="offset"/> of them), then the block's rows from <paramref name="blockStart"/>.</summary>
    private static Tensor IdsAt(Tensor positions, Tensor? runningIds, int offset, long blockStart)
    {
        using var s = new HeldScalars(); // every block: see HeldScalars
        var fromBlock = positions.sub(s.Integer(offset)).add(s.Integer(blockStart), s.Integer(1)); // (Q, m)
        if (runningIds is null)
        {
            return fromBlock;
        }
        using var inRunning = positions.lt(s.Integer(offset)); // (Q, m)
        using var clamped = positions.clamp_max(s.Integer(offset - 1)); // (Q, m)
        using var running = runningIds.gather(1, clamped); // (Q, m)
        return where(inRunning, running, fromBlock);
    }

    /// <summary>The exact selection, for blocks with ties across the k-th place: every column is ranked.</summary>
    private static (Tensor Scores, Tensor Ids) SelectTopKWithTies(Tensor scores, Tensor ids, int k)
    {
        var n = scores.shape[1];
        using var s = new HeldScalars(); // every block with ties: see HeldScalars
        var (values, _) = scores.topk(k, 1); // (Q, k) the k best values, correct whatever the tie order
        var kth = values.narrow(1, k - 1, 1); // (Q, 1)
        var above = scores.gt(kth); // (Q, n)
        var needed = above.sum(1, true, ScalarType.Int64).negative().add(s.Integer(k), s.Integer(1)); // (Q, 1) how many ties at the k-th value to take, k − above
        var tied = scores.eq(kth); // (Q, n)
        var tieRank = tied.to(ScalarType.Int64).cumsum(1); // (Q, n) 1-based rank among the ties, in column order
        var chosen = above.logical_or(tied.logical_and(tieRank.le(needed))); // (Q, n) exactly k per row

        // Chosen columns get keys n..1 by position, so a top-k of the keys lists them in column order.
        var keys = chosen.to(ScalarType.Int64) * arange(s.Integer(n), s.Integer(0), s.Integer(-1), ScalarType.Int64, scores.device); // (Q, n)
        var (_, positions) = keys.topk(k, 1); // (Q, k)
        var pickedScores = scores.gather(1, positions); // (Q, k)
        var pickedIds = ids.gather(1, positions); // (Q, k)
        var (sorted, order) = pickedScores.sort(1, descending: true, stable: true); // (Q, k) stable keeps id order on ties
        return (sorted, pickedIds.gather(1, order));
    }

    private static Tensor Load(EmbeddingRows source, long firstRow, int rows, Device device)
    {
        // Read straight into memory libtorch allocates (Tensor.bytes spans it): with tensors over fresh
        // .NET arrays (whatever their alignment) two identical searches were seen to differ in the
        // last bit of some scores, and a .NET copy of the block would double its memory.
        var host = empty([rows, source.Dimension], ScalarType.Float32); // (rows, D)
        source.ReadRows(firstRow, MemoryMarshal.Cast<byte, float>(host.bytes));
        if (device.type == DeviceType.CPU)
        {
            return host;
        }
        using (host)
        {
            return host.to(device);
        }
    }
}
