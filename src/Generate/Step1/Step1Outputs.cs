using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Parquet.Serialization;
using Skim.Core;
using Skim.Core.Formats.Corpus;
using Skim.Core.Formats.Npy;
using Skim.Core.IO;
using Skim.Distill.Items;
using Skim.Generate.PostProcessing;
using Skim.Generate.Sharding;

namespace Skim.Generate.Step1;

/// <summary>
/// Step-1's output files, in the shape SKIM's step-2 reads: <c>generations.parquet</c> (one row per
/// item: raw text, token counts, finish reason, shard, engine), <c>raw_rewrites.txt</c> (one synthetic
/// query per line, items in order) and <c>start_indices.npy</c> (int64, items + 1 offsets: item i's
/// queries are lines start[i] .. start[i+1]-1).
/// </summary>
public static class Step1Outputs
{
    /// <summary>The Parquet file of raw generations.</summary>
    public const string GenerationsFile = "generations.parquet";

    /// <summary>The synthetic queries, one per line.</summary>
    public const string QueriesFile = "raw_rewrites.txt";

    /// <summary>The per-item offsets into <see cref="QueriesFile"/>.</summary>
    public const string StartIndicesFile = "start_indices.npy";

    /// <summary>Gets the output file names, in the order they are written.</summary>
    public static IReadOnlyList<string> Files { get; } = [GenerationsFile, QueriesFile, StartIndicesFile];

    /// <summary>
    /// Writes the three files into <paramref name="directory"/> from <paramref name="records"/>, which
    /// must cover every item of <paramref name="range"/> exactly once, and returns the summary numbers.
    /// </summary>
    /// <param name="directory">The output folder.</param>
    /// <param name="records">The generations (any order).</param>
    /// <param name="range">The job's items.</param>
    /// <param name="items">Every item of the dataset (by index), for the known queries post-processing drops.</param>
    /// <param name="extraction">Post-processing settings.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="SkimDataException">An item is missing or repeated (the message names the range).</exception>
    public static async Task<JsonObject> WriteAsync(string directory, IReadOnlyList<Step1Record> records, ShardRange range, IReadOnlyList<PromptItem> items, QueryExtractionOptions extraction, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(extraction);
        var ordered = Coverage.Check(records, range, directory);
        var counts = new QueryExtractionCounts();
        var starts = new long[ordered.Count + 1];
        var perItem = new List<int>(ordered.Count);
        await AtomicFile.WriteAsync(Path.Combine(directory, QueriesFile), async stream =>
        {
            // Not disposed: that would close the atomic stream before it is committed.
            var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16);
            for (var i = 0; i < ordered.Count; i++)
            {
                var record = ordered[i];
                var known = items[(int)record.Item].Fields.TryGetValue(PromptItems.KnownQueriesField, out var list) ? list.Split('\n') : [];
                var queries = QueryExtractor.Extract(record.Text, known, record.FinishReason == "length", extraction, counts);
                foreach (var query in queries)
                {
                    await writer.WriteAsync(query.AsMemory(), ct).ConfigureAwait(false);
                    await writer.WriteAsync('\n').ConfigureAwait(false);
                }
                starts[i + 1] = starts[i] + queries.Count;
                perItem.Add(queries.Count);
            }
            await writer.FlushAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        NpyFile.Write(Path.Combine(directory, StartIndicesFile), NpyArray.Create(starts, starts.LongLength));
        await AtomicFile.WriteAsync(Path.Combine(directory, GenerationsFile), stream =>
            ParquetSerializer.SerializeAsync(ordered, stream, cancellationToken: ct)).ConfigureAwait(false);
        return Summary(ordered, perItem, counts);
    }

    /// <summary>
    /// Checks a provided SKIM generations pair (<c>raw_rewrites.txt</c> + <c>start_indices.npy</c>, as
    /// SKIM's own step-1 wrote them) before it is used instead of generating: offsets 1-d integers,
    /// starting at 0, non-decreasing, the last equal to the number of lines. Returns the item count.
    /// </summary>
    /// <exception cref="SkimFormatException">The pair is inconsistent (one message naming the file and entry).</exception>
    public static long ValidateImport(string queriesPath, string startIndicesPath, long? expectedItems = null)
    {
        ArgumentNullException.ThrowIfNull(queriesPath);
        ArgumentNullException.ThrowIfNull(startIndicesPath);
        if (!File.Exists(queriesPath))
        {
            throw new SkimFormatException(queriesPath, null, "no such queries file (raw_rewrites.txt)");
        }
        if (!File.Exists(startIndicesPath))
        {
            throw new SkimFormatException(startIndicesPath, null, "no such offsets file (start_indices.npy)");
        }
        var array = NpyFile.Read(startIndicesPath);
        if (array.Shape.Length != 1)
        {
            throw new SkimFormatException(startIndicesPath, null, $"expected a 1-d array of offsets, found shape {array.Header.ShapeText}");
        }
        var starts = array.DType switch
        {
            NpyDType.Int64 => array.As<long>(),
            NpyDType.Int32 => Array.ConvertAll(array.As<int>(), v => (long)v),
            _ => throw new SkimFormatException(startIndicesPath, null, $"expected dtype int64 or int32, found {array.DType.Descr()}"),
        };
        if (starts.Length == 0)
        {
            throw new SkimFormatException(startIndicesPath, null, "expected items + 1 offsets, found an empty array");
        }
        if (starts[0] != 0)
        {
            throw new SkimFormatException(startIndicesPath, "entry 0", $"expected the first offset to be 0, found {starts[0]}");
        }
        for (var i = 1; i < starts.Length; i++)
        {
            if (starts[i] < starts[i - 1])
            {
                throw new SkimFormatException(startIndicesPath, $"entry {i}", $"expected non-decreasing offsets, found {starts[i]} after {starts[i - 1]}");
            }
        }
        var lines = TextLines.Count(queriesPath);
        if (starts[^1] != lines)
        {
            throw new SkimFormatException(startIndicesPath, $"entry {starts.Length - 1}", $"expected the last offset to equal the {lines} lines of {Path.GetFileName(queriesPath)}, found {starts[^1]}");
        }
        if (expectedItems is { } expected && starts.Length - 1 != expected)
        {
            throw new SkimFormatException(startIndicesPath, null, $"expected {expected + 1} offsets ({expected} items + 1), found {starts.Length}");
        }
        return starts.Length - 1;
    }

    private static JsonObject Summary(List<Step1Record> records, List<int> perItem, QueryExtractionCounts counts)
    {
        var sorted = perItem.Order().ToArray();
        var drops = new JsonObject();
        foreach (var (reason, count) in counts.DroppedByReason())
        {
            drops[QueryExtractionCounts.Name(reason)] = count;
        }
        return new JsonObject
        {
            ["items"] = records.Count,
            ["queries"] = counts.Kept,
            ["queries_per_item_min"] = sorted.Length > 0 ? sorted[0] : 0,
            ["queries_per_item_median"] = sorted.Length > 0 ? Median(sorted) : 0,
            ["queries_per_item_max"] = sorted.Length > 0 ? sorted[^1] : 0,
            ["items_without_queries"] = sorted.Count(c => c == 0),
            ["dropped"] = drops,
            ["prompt_tokens"] = records.Sum(r => (long)r.PromptTokens),
            ["generated_tokens"] = records.Sum(r => (long)r.GeneratedTokens),
            ["finished_by_length"] = records.Count(r => r.FinishReason == "length"),
            ["backends"] = new JsonArray([.. records.Select(r => r.Backend).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(b => (JsonNode?)JsonValue.Create(b))]),
        };
    }

    private static double Median(int[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2.0;
}

/// <summary>Checks that generation records cover a range of items exactly once.</summary>
public static class Coverage
{
    /// <summary>
    /// Returns <paramref name="records"/> in item order after checking that each item of
    /// <paramref name="range"/> appears exactly once and no other item does.
    /// </summary>
    /// <exception cref="SkimDataException">Items are missing, repeated or outside the range; the message names the ranges.</exception>
    public static List<Step1Record> Check(IReadOnlyList<Step1Record> records, ShardRange range, string where)
    {
        ArgumentNullException.ThrowIfNull(records);
        var seen = new int[range.Length];
        var outside = new List<long>();
        foreach (var record in records)
        {
            if (!range.Contains(record.Item))
            {
                outside.Add(record.Item);
                continue;
            }
            seen[record.Item - range.Start]++;
        }
        var missing = Ranges(range, seen, c => c == 0);
        var repeated = Ranges(range, seen, c => c > 1);
        if (missing.Count > 0 || repeated.Count > 0 || outside.Count > 0)
        {
            var problems = new List<string>();
            if (missing.Count > 0)
            {
                problems.Add($"items {Describe(missing)} missing");
            }
            if (repeated.Count > 0)
            {
                problems.Add($"items {Describe(repeated)} generated more than once");
            }
            if (outside.Count > 0)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"{outside.Count} records for items outside {range.Start}..{range.End - 1} (first {outside.Min()})"));
            }
            throw new SkimDataException($"{where}: expected every item {range.Start}..{range.End - 1} exactly once: {string.Join("; ", problems)}");
        }
        return [.. records.OrderBy(r => r.Item)];
    }

    private static List<(long First, long Last)> Ranges(ShardRange range, int[] seen, Func<int, bool> bad)
    {
        var ranges = new List<(long, long)>();
        for (var i = 0; i < seen.Length; i++)
        {
            if (!bad(seen[i]))
            {
                continue;
            }
            var j = i;
            while (j + 1 < seen.Length && bad(seen[j + 1]))
            {
                j++;
            }
            ranges.Add((range.Start + i, range.Start + j));
            i = j;
        }
        return ranges;
    }

    private static string Describe(List<(long First, long Last)> ranges)
    {
        var shown = ranges.Take(5).Select(r => r.First == r.Last
            ? r.First.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{r.First}..{r.Last}"));
        var more = ranges.Count > 5 ? $" and {ranges.Count - 5} more ranges" : "";
        return string.Join(", ", shown) + more;
    }
}
