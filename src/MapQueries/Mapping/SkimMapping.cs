using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;
using Skim.Models.Search;

namespace Skim.MapQueries.Mapping;

/// <summary>
/// The SKIM step-2 mapping rule: every synthetic text's nearest neighbours (among training queries
/// or labels) become new soft pairs of the training matrix when they are similar enough.
/// </summary>
/// <remarks>
/// For each source row s (a label for <see cref="MappingOrientation.QuerySide"/>, a training point
/// for <see cref="MappingOrientation.LabelSide"/>) and each synthetic text t written for it, the
/// first <see cref="SkimMappingOptions.TopK"/> neighbours n of t with rescaled score
/// <c>(cos + 1) / 2 &gt;= Threshold</c> give the pair (n, s) or (s, n) with that score; a pair
/// reached more than once keeps its largest score. The pairs are added to the training matrix and
/// the sum is clipped to [0, ClipMax].
/// <para>
/// Which synthetic texts belong to which source is given by <c>start_indices</c>: offsets into the
/// synthetic rows (the rows of the neighbour matrices), non-decreasing, starting at 0. Source s owns
/// the rows <c>start[s] .. start[s+1]-1</c>. SKIM's <c>start_indices.npy</c> ends with a closing
/// entry equal to the number of synthetic rows (so it holds one more entry than the sources it
/// covers, and may cover only the first sources); a list of exactly one offset per source, whose last
/// source runs to the final synthetic row, is accepted as well.
/// </para>
/// </remarks>
public static class SkimMapping
{
    /// <summary>The file name SKIM gives the synthetic-row offsets.</summary>
    public const string StartIndicesFileName = "start_indices.npy";

    // Cancellation is checked once per this many synthetic rows.
    private const int CancellationStride = 1 << 14;

    /// <summary>
    /// Applies the rule to <paramref name="train"/> (points × labels) given the neighbour lists of the
    /// synthetic texts and their offsets.
    /// </summary>
    /// <param name="train">The original training matrix.</param>
    /// <param name="neighbours">Per synthetic row, its nearest training queries (query-side) or labels (label-side) with cosine scores.</param>
    /// <param name="startIndices">The offsets of each source row's synthetic rows (see the remarks).</param>
    /// <param name="options">The rule's settings; null takes the SKIM defaults.</param>
    /// <param name="ct">Cancels the run.</param>
    /// <exception cref="SkimFormatException">The offsets or neighbour indices do not fit the matrix.</exception>
    /// <exception cref="SkimConfigException">An option is invalid.</exception>
    public static SkimMappingResult Apply(
        CsrMatrix train,
        KnnResult neighbours,
        IReadOnlyList<long> startIndices,
        SkimMappingOptions? options = null,
        CancellationToken ct = default) =>
        Apply(train, neighbours, startIndices, options, StartIndicesFileName, KnnResult.IndicesFileName, ct);

    /// <summary>Applies the rule; <paramref name="startIndicesName"/> and <paramref name="neighboursName"/> name the inputs in error messages.</summary>
    private static SkimMappingResult Apply(
        CsrMatrix train,
        KnnResult neighbours,
        IReadOnlyList<long> startIndices,
        SkimMappingOptions? options,
        string startIndicesName,
        string neighboursName,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(neighbours);
        ArgumentNullException.ThrowIfNull(startIndices);
        options ??= new SkimMappingOptions();
        options.Validate();
        var querySide = options.Orientation == MappingOrientation.QuerySide;
        var sourceCount = querySide ? train.Columns : train.Rows;
        var targetCount = querySide ? train.Rows : train.Columns;
        var ends = SourceEnds(startIndices, neighbours.Rows, sourceCount, startIndicesName, querySide);
        var width = Math.Min(options.TopK, neighbours.K);

        // Two passes over the candidates: count the kept ones, then fill exactly sized triple arrays
        // (the candidate count can run to hundreds of millions; lists would double past it).
        long kept = 0;
        var covered = ForEachKept(neighbours, ends, width, options.Threshold, targetCount, neighboursName, (_, _, _) => kept++, ct);
        CsrMatrix.EnsureNonZerosFit(kept, "SKIM mapping");
        var rowIds = GC.AllocateUninitializedArray<int>((int)kept);
        var columnIds = GC.AllocateUninitializedArray<int>((int)kept);
        var values = GC.AllocateUninitializedArray<float>((int)kept);
        var at = 0;
        ForEachKept(neighbours, ends, width, options.Threshold, targetCount, neighboursName, (source, target, score) =>
        {
            rowIds[at] = querySide ? target : source;
            columnIds[at] = querySide ? source : target;
            values[at] = score;
            at++;
        }, ct);

        var newPairs = CsrMatrix.FromTriples(train.Rows, train.Columns, rowIds, columnIds, values, DuplicateReduction.Max);
        var augmented = train.Add(newPairs).Clip(0f, options.ClipMax);
        var statistics = Count(train, newPairs) with
        {
            SyntheticRows = covered,
            PairsProposed = covered * width,
            PairsKept = kept,
            OriginalNonZeros = train.NonZeros,
            AugmentedNonZeros = augmented.NonZeros,
        };
        return new SkimMappingResult(newPairs, augmented, statistics);
    }

    /// <summary>
    /// Loads the inputs from SKIM's files and applies the rule: the training matrix (.npz), the
    /// neighbour pair (only the first TopK columns are read) and <c>start_indices.npy</c>.
    /// </summary>
    /// <exception cref="SkimFormatException">A file is malformed or does not fit the others; the message names it.</exception>
    public static SkimMappingResult ApplyFiles(
        string trainPath,
        string indicesPath,
        string scoresPath,
        string startIndicesPath,
        SkimMappingOptions? options = null,
        CancellationToken ct = default)
    {
        options ??= new SkimMappingOptions();
        options.Validate();
        var train = SparseNpz.Load(trainPath);
        var neighbours = KnnResult.Load(indicesPath, scoresPath, options.TopK);
        var start = LoadStartIndices(startIndicesPath);
        return Apply(train, neighbours, start, options, startIndicesPath, indicesPath, ct);
    }

    /// <summary>Reads a 1-d int32 or int64 offsets file such as <c>start_indices.npy</c>.</summary>
    /// <exception cref="SkimFormatException">The file is not a 1-d integer array.</exception>
    public static long[] LoadStartIndices(string path)
    {
        var array = NpyFile.Read(path);
        if (array.Shape.Length != 1)
        {
            throw new SkimFormatException(path, null, $"expected a 1-d array of offsets, found shape {array.Header.ShapeText}");
        }
        return array.DType switch
        {
            NpyDType.Int64 => array.As<long>(),
            NpyDType.Int32 => Array.ConvertAll(array.As<int>(), v => (long)v),
            _ => throw new SkimFormatException(path, null, $"expected dtype int32 or int64, found {array.DType.Descr()}"),
        };
    }

    /// <summary>Turns the offsets into the end (exclusive) of each covered source's synthetic rows, after checking them.</summary>
    private static long[] SourceEnds(IReadOnlyList<long> start, int syntheticRows, int sourceCount, string name, bool querySide)
    {
        var sourceKind = querySide ? "labels (matrix columns)" : "training points (matrix rows)";
        if (start.Count == 0)
        {
            throw new SkimFormatException(name, null, "expected at least one offset, found an empty array");
        }
        if (start[0] != 0)
        {
            throw new SkimFormatException(name, "entry 0", $"expected the first offset to be 0, found {start[0]}");
        }
        for (var i = 1; i < start.Count; i++)
        {
            if (start[i] < start[i - 1])
            {
                throw new SkimFormatException(name, $"entry {i}", $"expected non-decreasing offsets, found {start[i]} after {start[i - 1]}");
            }
        }
        var last = start[^1];
        int sources;
        if (last == syntheticRows)
        {
            sources = start.Count - 1;
        }
        else if (last < syntheticRows && start.Count == sourceCount)
        {
            sources = sourceCount;
        }
        else
        {
            throw new SkimFormatException(name, $"entry {start.Count - 1}",
                $"expected a closing offset equal to the {syntheticRows} synthetic rows, or one offset per each of the {sourceCount} {sourceKind}; found {start.Count} offsets ending at {last}");
        }
        if (sources > sourceCount)
        {
            throw new SkimFormatException(name, null, $"expected offsets for at most {sourceCount} {sourceKind}, found {sources}");
        }
        var ends = new long[sources];
        for (var s = 0; s < sources; s++)
        {
            ends[s] = s + 1 < start.Count ? start[s + 1] : syntheticRows;
        }
        return ends;
    }

    /// <summary>Calls <paramref name="keep"/> with (source, neighbour, rescaled score) for each kept candidate, in row order; returns the synthetic rows covered.</summary>
    private static long ForEachKept(
        KnnResult neighbours,
        long[] ends,
        int width,
        float threshold,
        int targetCount,
        string name,
        Action<int, int, float> keep,
        CancellationToken ct)
    {
        var row = 0;
        for (var source = 0; source < ends.Length; source++)
        {
            for (; row < ends[source]; row++)
            {
                if (row % CancellationStride == 0)
                {
                    ct.ThrowIfCancellationRequested();
                }
                var targets = neighbours.RowIndices(row);
                var scores = neighbours.RowScores(row);
                for (var c = 0; c < width; c++)
                {
                    // float32 arithmetic on purpose: SKIM rescales and compares a float32 array.
                    var score = (scores[c] + 1f) / 2f;
                    if (!(score >= threshold))
                    {
                        continue;
                    }
                    var target = targets[c];
                    if ((uint)target >= (uint)targetCount)
                    {
                        throw new SkimFormatException(name, $"row {row}, column {c}", $"expected a neighbour index in [0, {targetCount}), found {target}");
                    }
                    keep(source, target, score);
                }
            }
        }
        return row;
    }

    private static SkimMappingStatistics Count(CsrMatrix train, CsrMatrix newPairs)
    {
        var sorted = train.HasSortedIndices ? train : train.ReduceDuplicates(DuplicateReduction.Sum);
        var rowTouched = new bool[train.Rows];
        var labelTouched = new bool[train.Columns];
        long fresh = 0;
        for (var r = 0; r < newPairs.Rows; r++)
        {
            var existing = sorted.RowIndices(r);
            var existingValues = sorted.RowValues(r);
            foreach (var c in newPairs.RowIndices(r))
            {
                var k = existing.BinarySearch(c);
                if (k >= 0 && existingValues[k] != 0)
                {
                    continue;
                }
                fresh++;
                rowTouched[r] = true;
                labelTouched[c] = true;
            }
        }
        return new SkimMappingStatistics
        {
            DistinctPairs = newPairs.NonZeros,
            NewPairs = fresh,
            AlreadyPresent = newPairs.NonZeros - fresh,
            RowsTouched = rowTouched.Count(t => t),
            LabelsTouched = labelTouched.Count(t => t),
        };
    }
}
