using System.Diagnostics;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.Stages;
using Skim.Models.Search;

namespace Skim.MapQueries.Step2;

/// <summary>
/// Exact kNN of synthetic-row chunks against all targets through <see cref="ExactKnn"/>: each chunk's
/// (rows × k) neighbours are written as parts, so a killed search resumes at its first missing chunk;
/// the parts are then concatenated into SKIM's <c>ngbr_indices_mat.npy</c> and <c>ngbr_scores_mat.npy</c>.
/// </summary>
internal static class ChunkedKnn
{
    /// <summary>
    /// Searches chunks [<paramref name="firstChunk"/>, <paramref name="endChunk"/>) of the synthetic rows,
    /// whose embeddings <paramref name="queriesPath"/> holds starting at chunk <paramref name="firstChunk"/>,
    /// and writes the two neighbour files into <paramref name="outputDirectory"/>. Returns the rows searched by this call.
    /// </summary>
    public static long Search(
        string queriesPath,
        string targetsPath,
        long totalRows,
        int chunkRows,
        int firstChunk,
        int endChunk,
        ExactKnnOptions options,
        string outputDirectory,
        string phase,
        IProgress<StageProgress>? progress,
        CancellationToken ct)
    {
        var indicesPath = Path.Combine(outputDirectory, KnnResult.IndicesFileName);
        var scoresPath = Path.Combine(outputDirectory, KnnResult.ScoresFileName);
        var firstRow = Math.Min(totalRows, (long)firstChunk * chunkRows);
        var rows = Math.Min(totalRows, (long)endChunk * chunkRows) - firstRow;
        if (File.Exists(indicesPath) && File.Exists(scoresPath))
        {
            NpyChunks.CheckMatrix(indicesPath, NpyDType.Int32, rows, options.K, "neighbour indices");
            NpyChunks.CheckMatrix(scoresPath, NpyDType.Float32, rows, options.K, "neighbour scores");
            progress?.Report(new StageProgress(phase, rows, rows, "rows", "already searched"));
            return 0;
        }
        using var queries = NpyMemoryMap.Open(queriesPath);
        var mappedQueries = EmbeddingRows.FromNpy(queries);
        using var database = OpenTargets(targetsPath, ct);
        if (queries.RowLength != database.Rows.Dimension)
        {
            throw new SkimDataException(queriesPath, null, $"expected rows of {database.Rows.Dimension} values as in {targetsPath}, found {queries.RowLength}: the embedding dimensions do not match");
        }
        if (options.K > database.Rows.Rows)
        {
            throw new SkimConfigException($"knn: {options.K} neighbours asked for but {targetsPath} holds only {database.Rows.Rows} targets; use knn <= {database.Rows.Rows}");
        }
        var partsDirectory = Path.Combine(outputDirectory, "neighbours.parts");
        Directory.CreateDirectory(partsDirectory);
        var clock = Stopwatch.StartNew();
        long done = 0;
        long computed = 0;
        var indexParts = new List<string>();
        var scoreParts = new List<string>();
        for (var chunk = firstChunk; chunk < endChunk; chunk++)
        {
            ct.ThrowIfCancellationRequested();
            var (first, count) = NpyChunks.Range(chunk, totalRows, chunkRows);
            var indexPart = NpyChunks.PartPath(partsDirectory, "ngbr_indices_mat", chunk);
            var scorePart = NpyChunks.PartPath(partsDirectory, "ngbr_scores_mat", chunk);
            indexParts.Add(indexPart);
            scoreParts.Add(scorePart);
            if (File.Exists(indexPart) && File.Exists(scorePart))
            {
                done += count;
                progress?.Report(new StageProgress(phase, done, rows, "rows", "resumed"));
                continue;
            }
            var local = first - firstRow;
            CheckFinite(queries, local, count, queriesPath, ct);
            // The chunk is searched from the map and its neighbours streamed to the part files, so
            // neither the chunk's embeddings nor its neighbours are ever held in memory whole.
            var block = mappedQueries.Slice(local, count);
            var before = done;
            var sink = progress is null ? null : new Sink(p =>
            {
                var rate = ChunkedEmbedder.Rate(computed + p.QueriesDone, clock);
                progress.Report(new StageProgress(phase, before + p.QueriesDone, rows, "rows", rate));
            });
            // A part pair counts as done only when both files exist; each appears only once complete.
            ExactKnn.SearchToFiles(block, database.Rows, indexPart, scorePart, options, sink, ct);
            done += count;
            computed += count;
        }
        if (indexParts.Count == 0)
        {
            new KnnResult(0, options.K, [], []).Save(indicesPath, scoresPath);
        }
        else
        {
            NpyChunks.Concatenate(scoreParts, scoresPath, ct);
            NpyChunks.Concatenate(indexParts, indicesPath, ct);
        }
        NpyChunks.DeleteParts(partsDirectory);
        return computed;
    }

    /// <summary>Checks rows [<paramref name="first"/>, +<paramref name="count"/>) for NaN block by block.</summary>
    private static void CheckFinite(NpyMemoryMap map, long first, int count, string path, CancellationToken ct)
    {
        var width = (int)map.RowLength;
        var blockRows = (int)Math.Max(1, (1 << 20) / Math.Max(1, width));
        for (long row = first; row < first + count; row += blockRows)
        {
            ct.ThrowIfCancellationRequested();
            var rows = (int)Math.Min(blockRows, first + count - row);
            NpyChunks.CheckFinite(NpyChunks.ReadFloatRows(map, row, rows), width, row, path);
        }
    }

    /// <summary>
    /// Opens the target embeddings for searching, memory-mapped (float16 rows are widened as each block
    /// is read); every row is checked for NaN first.
    /// </summary>
    private static Targets OpenTargets(string path, CancellationToken ct)
    {
        var map = NpyMemoryMap.Open(path);
        try
        {
            if (map.Header.Rank != 2)
            {
                throw new SkimDataException(path, null, $"expected a 2-d (rows, dimension) array, found shape {map.Header.ShapeText}");
            }
            CheckFinite(map, 0, checked((int)map.Rows), path, ct);
            return new Targets(EmbeddingRows.FromNpy(map), map);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    private sealed record Targets(EmbeddingRows Rows, NpyMemoryMap? Map) : IDisposable
    {
        public void Dispose() => Map?.Dispose();
    }

    // Progress<T> would post reports to a thread pool out of order; this calls straight through.
    private sealed class Sink(Action<ExactKnnProgress> report) : IProgress<ExactKnnProgress>
    {
        public void Report(ExactKnnProgress value) => report(value);
    }
}
