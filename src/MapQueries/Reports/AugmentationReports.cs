using System.Text.Json;
using System.Text.Json.Serialization;
using Skim.Core.Datasets;
using Skim.Core.IO;
using Skim.Core.Sparse;
using Skim.MapQueries.Mapping;
using Skim.Models.Search;

namespace Skim.MapQueries.Reports;

/// <summary>What <see cref="AugmentationReports.Build"/> reports on.</summary>
public sealed record AugmentationReportInputs
{
    /// <summary>Gets the observed training matrix (points × labels).</summary>
    public required CsrMatrix Observed { get; init; }

    /// <summary>Gets the complete training matrix, or null.</summary>
    public CsrMatrix? Full { get; init; }

    /// <summary>Gets the mapping result.</summary>
    public required SkimMappingResult Result { get; init; }

    /// <summary>Gets the neighbours the rule was applied to (at least <see cref="TopK"/> columns).</summary>
    public required KnnResult Neighbours { get; init; }

    /// <summary>Gets the synthetic-row offsets per source (start_indices).</summary>
    public required IReadOnlyList<long> StartIndices { get; init; }

    /// <summary>Gets the orientation.</summary>
    public required MappingOrientation Orientation { get; init; }

    /// <summary>Gets the neighbours considered per synthetic text.</summary>
    public required int TopK { get; init; }

    /// <summary>Gets the threshold applied.</summary>
    public required float Threshold { get; init; }

    /// <summary>Gets the text of a source (label query-side, training point label-side).</summary>
    public required Func<int, string> SourceText { get; init; }

    /// <summary>Gets the text of a target (training query query-side, label label-side).</summary>
    public required Func<int, string> TargetText { get; init; }

    /// <summary>Gets the synthetic texts of the given rows (ascending).</summary>
    public required Func<IReadOnlyList<long>, IReadOnlyList<string>> SyntheticTexts { get; init; }

    /// <summary>Gets the number of triples sampled. Defaults to 20.</summary>
    public int SampleSize { get; init; } = 20;

    /// <summary>Gets the seed of the sample. Defaults to 0.</summary>
    public long Seed { get; init; }
}

/// <summary>Builds and writes <see cref="AugmentationReport"/>s.</summary>
public static class AugmentationReports
{
    /// <summary>The report's file name.</summary>
    public const string FileName = "report.json";

    /// <summary>The score histogram's file name.</summary>
    public const string HistogramFileName = "score_histogram.png";

    /// <summary>The number of bins of the score histogram.</summary>
    public const int HistogramBins = 20;

    /// <summary>The number of label groups by frequency.</summary>
    public const int Groups = 10;

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Computes the report.</summary>
    public static AugmentationReport Build(AugmentationReportInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var observed = inputs.Observed.HasSortedIndices ? inputs.Observed : inputs.Observed.SortIndices();
        var newPairs = inputs.Result.NewPairs;
        var frequency = new int[observed.Columns];
        for (var r = 0; r < observed.Rows; r++)
        {
            var values = observed.RowValues(r);
            var columns = observed.RowIndices(r);
            for (var i = 0; i < columns.Length; i++)
            {
                if (values[i] != 0)
                {
                    frequency[columns[i]]++;
                }
            }
        }
        var added = new long[observed.Columns];
        long addedTotal = 0;
        for (var r = 0; r < newPairs.Rows; r++)
        {
            foreach (var c in newPairs.RowIndices(r))
            {
                if (!Holds(observed, r, c))
                {
                    added[c]++;
                    addedTotal++;
                }
            }
        }
        var firstPoint = Enumerable.Range(0, observed.Columns).Where(l => frequency[l] == 0 && added[l] > 0).ToList();
        var (histogram, sample) = ScanNeighbours(inputs, observed);
        var stats = inputs.Result.Statistics;
        return new AugmentationReport
        {
            Orientation = inputs.Orientation == MappingOrientation.QuerySide ? "query-side" : "label-side",
            TopK = inputs.TopK,
            Threshold = inputs.Threshold,
            SyntheticRows = stats.SyntheticRows,
            Targets = inputs.Orientation == MappingOrientation.QuerySide ? observed.Rows : observed.Columns,
            PairsBefore = observed.NonZeros,
            PairsAfter = inputs.Result.Augmented.NonZeros,
            PairsAdded = addedTotal,
            PairsAlreadyPresent = newPairs.NonZeros - addedTotal,
            RowsTouched = stats.RowsTouched,
            LabelsTouched = stats.LabelsTouched,
            LabelsWithoutPoints = frequency.Count(f => f == 0),
            LabelsGainingFirstPoint = firstPoint.Count,
            FirstPointLabels = [.. firstPoint.Take(20)],
            Deciles = Deciles(frequency, added),
            Scores = histogram,
            Sample = sample,
            VersusFull = inputs.Full is null ? null : Compare(observed, inputs.Full, newPairs),
        };
    }

    /// <summary>
    /// Groups labels by observed frequency, most frequent first (ties by label id), into ten groups
    /// whose sizes differ by at most one (the first <c>L mod 10</c> hold one more), as
    /// <c>numpy.array_split</c> splits the sorted labels.
    /// </summary>
    public static IReadOnlyList<LabelDecile> Deciles(IReadOnlyList<int> frequency, IReadOnlyList<long> added)
    {
        ArgumentNullException.ThrowIfNull(frequency);
        ArgumentNullException.ThrowIfNull(added);
        var order = Enumerable.Range(0, frequency.Count).OrderByDescending(l => frequency[l]).ThenBy(l => l).ToArray();
        var groups = Math.Min(Groups, order.Length);
        var result = new List<LabelDecile>(groups);
        var at = 0;
        for (var g = 0; g < groups; g++)
        {
            var size = (order.Length / groups) + (g < order.Length % groups ? 1 : 0);
            var labels = order.AsSpan(at, size).ToArray();
            at += size;
            result.Add(new LabelDecile(
                g + 1,
                size,
                labels.Min(l => frequency[l]),
                labels.Max(l => frequency[l]),
                labels.Sum(l => (long)frequency[l]),
                labels.Sum(l => added[l]),
                labels.Count(l => added[l] > 0)));
        }
        return result;
    }

    /// <summary>Compares the added pairs with the complete matrix (see <see cref="GroundTruthComparison"/>).</summary>
    public static GroundTruthComparison Compare(CsrMatrix observed, CsrMatrix full, CsrMatrix newPairs)
    {
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(full);
        ArgumentNullException.ThrowIfNull(newPairs);
        var seen = observed.HasSortedIndices ? observed : observed.SortIndices();
        var truth = full.HasSortedIndices ? full : full.SortIndices();
        long addedCount = 0;
        long correct = 0;
        for (var r = 0; r < newPairs.Rows; r++)
        {
            foreach (var c in newPairs.RowIndices(r))
            {
                if (Holds(seen, r, c))
                {
                    continue;
                }
                addedCount++;
                if (r < truth.Rows && Holds(truth, r, c))
                {
                    correct++;
                }
            }
        }
        long removed = 0;
        long present = 0;
        for (var r = 0; r < seen.Rows; r++)
        {
            var values = seen.RowValues(r);
            present += values.Length - values.Count(0f);
            if (r >= truth.Rows)
            {
                continue;
            }
            var columns = truth.RowIndices(r);
            var fullValues = truth.RowValues(r);
            for (var i = 0; i < columns.Length; i++)
            {
                if (fullValues[i] != 0 && !Holds(seen, r, columns[i]))
                {
                    removed++;
                }
            }
        }
        var absent = ((long)seen.Rows * seen.Columns) - present;
        return new GroundTruthComparison(
            addedCount,
            correct,
            removed,
            addedCount == 0 ? 0 : (double)correct / addedCount,
            removed == 0 ? 0 : (double)correct / removed,
            absent,
            absent == 0 ? 0 : (double)removed / absent);
    }

    /// <summary>Writes <paramref name="report"/> as <see cref="FileName"/> in <paramref name="directory"/> (atomically) and returns the path.</summary>
    public static string Save(AugmentationReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(report, s_json) + "\n");
        return path;
    }

    /// <summary>Reads a report written by <see cref="Save"/>.</summary>
    public static AugmentationReport Load(string path) =>
        JsonSerializer.Deserialize<AugmentationReport>(File.ReadAllText(path), s_json)
            ?? throw new Core.SkimFormatException(path, null, "expected a report object, found null");

    /// <summary>Draws the score histogram with the threshold marked as <see cref="HistogramFileName"/>; returns the path.</summary>
    public static string SaveHistogram(AugmentationReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        var path = Path.Combine(directory, HistogramFileName);
        Core.Reports.Charts.Histogram(
            path,
            $"Neighbour scores (top {report.TopK}), {report.Scores.AtOrAboveThreshold:N0} of {report.Scores.Total:N0} kept",
            "rescaled score (s + 1) / 2",
            report.Scores.BinEdges,
            report.Scores.Counts,
            report.Threshold,
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"threshold {report.Threshold:0.###}"));
        return path;
    }

    private static bool Holds(CsrMatrix sorted, int row, int column)
    {
        var columns = sorted.RowIndices(row);
        var k = columns.BinarySearch(column);
        return k >= 0 && sorted.RowValues(row)[k] != 0;
    }

    /// <summary>One pass over the considered neighbours: the score histogram, and a reservoir sample of kept candidates.</summary>
    private static (ScoreHistogram Histogram, IReadOnlyList<MappingTriple> Sample) ScanNeighbours(AugmentationReportInputs inputs, CsrMatrix observed)
    {
        var neighbours = inputs.Neighbours;
        var width = Math.Min(inputs.TopK, neighbours.K);
        var counts = new long[HistogramBins];
        long total = 0;
        long kept = 0;
        var querySide = inputs.Orientation == MappingOrientation.QuerySide;
        var reservoir = new List<(long Row, int Source, int Target, float Score)>();
        var random = new Random(unchecked((int)inputs.Seed));
        var start = inputs.StartIndices;
        var sources = start[^1] == neighbours.Rows ? start.Count - 1 : start.Count;
        for (var source = 0; source < sources; source++)
        {
            var end = source + 1 < start.Count ? start[source + 1] : neighbours.Rows;
            for (var row = start[source]; row < end; row++)
            {
                var scores = neighbours.RowScores((int)row);
                var targets = neighbours.RowIndices((int)row);
                for (var c = 0; c < width; c++)
                {
                    // float32, as the rule computes it.
                    var score = (scores[c] + 1f) / 2f;
                    counts[Math.Clamp((int)Math.Floor(score * HistogramBins), 0, HistogramBins - 1)]++;
                    total++;
                    if (!(score >= inputs.Threshold))
                    {
                        continue;
                    }
                    kept++;
                    var candidate = (row, source, targets[c], score);
                    if (reservoir.Count < inputs.SampleSize)
                    {
                        reservoir.Add(candidate);
                    }
                    else if (inputs.SampleSize > 0)
                    {
                        var slot = random.NextInt64(kept);
                        if (slot < inputs.SampleSize)
                        {
                            reservoir[(int)slot] = candidate;
                        }
                    }
                }
            }
        }
        var picked = reservoir.OrderBy(p => p.Row).ThenBy(p => p.Target).ToList();
        var texts = inputs.SyntheticTexts([.. picked.Select(p => p.Row).Distinct()]);
        var textOf = picked.Select(p => p.Row).Distinct().Zip(texts).ToDictionary(e => e.First, e => e.Second);
        var sample = picked.Select(p =>
        {
            var (row, label) = querySide ? (p.Target, p.Source) : (p.Source, p.Target);
            return new MappingTriple(p.Row, textOf[p.Row], p.Source, inputs.SourceText(p.Source), p.Target, inputs.TargetText(p.Target), row, label, p.Score, !Holds(observed, row, label));
        }).ToList();
        var edges = Enumerable.Range(0, HistogramBins + 1).Select(i => (double)i / HistogramBins).ToArray();
        return (new ScoreHistogram(edges, counts, inputs.Threshold, kept, total), sample);
    }
}
