using Skim.Core.Datasets;
using Skim.Core.Sparse;

namespace Skim.Distill.Items;

/// <summary>How many items step-0 asks the teacher about, and which.</summary>
public sealed record ItemSampleOptions
{
    /// <summary>Gets the number of items to sample (null: use <see cref="Fraction"/>, or all when both are null). Defaults to null.</summary>
    public int? Items { get; init; }

    /// <summary>Gets the share of items to sample, in (0, 1] (used when <see cref="Items"/> is null). Defaults to null.</summary>
    public double? Fraction { get; init; }

    /// <summary>Gets whether items are sampled evenly from the ten label-frequency deciles, so tail labels are represented. Defaults to false.</summary>
    public bool Stratified { get; init; }

    /// <summary>Gets the seed of the draw. Defaults to 0.</summary>
    public long Seed { get; init; }
}

/// <summary>The sampled items (in index order) and what was left out.</summary>
/// <param name="Items">The sampled items, in index order.</param>
/// <param name="Eligible">Items with metadata (the population sampled from).</param>
/// <param name="SkippedWithoutMetadata">Items with no text, never sampled.</param>
public sealed record ItemSample(IReadOnlyList<PromptItem> Items, int Eligible, int SkippedWithoutMetadata);

/// <summary>
/// Draws step-0's items: items without metadata are skipped (and counted); the rest are sampled
/// uniformly with a seed, or, stratified, evenly across the deciles of label frequency (items sorted
/// by frequency and cut into ten equal groups; a group too small for its share passes the rest on),
/// so that the rare labels missing-label repair is for are not drowned by the head.
/// </summary>
public static class ItemSampler
{
    private const int Strata = 10;

    /// <summary>Samples <paramref name="items"/>.</summary>
    /// <param name="items">Every item, in index order.</param>
    /// <param name="frequencies">Label frequency per item (indexed like <paramref name="items"/>); needed when stratified.</param>
    /// <param name="options">How many and how.</param>
    public static ItemSample Sample(IReadOnlyList<PromptItem> items, IReadOnlyList<int>? frequencies, ItemSampleOptions options)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(options);
        var eligible = Enumerable.Range(0, items.Count).Where(i => items[i].HasMetadata).ToList();
        var skipped = items.Count - eligible.Count;
        var count = options.Items ?? (options.Fraction is { } f ? (int)Math.Round(f * eligible.Count) : eligible.Count);
        count = Math.Clamp(count, 0, eligible.Count);
        var random = new Random(unchecked((int)options.Seed ^ (int)(options.Seed >> 32)));
        List<int> chosen;
        if (options.Stratified && count < eligible.Count)
        {
            ArgumentNullException.ThrowIfNull(frequencies);
            var ordered = eligible.OrderBy(i => frequencies[i]).ThenBy(i => i).ToList();
            var strata = Enumerable.Range(0, Strata)
                .Select(s => ordered.GetRange(s * ordered.Count / Strata, ((s + 1) * ordered.Count / Strata) - (s * ordered.Count / Strata)))
                .Where(g => g.Count > 0)
                .Select(g => Shuffle(g, random))
                .ToList();
            var taken = new int[strata.Count];
            chosen = [];
            // Round-robin over the groups: even shares, and a short group's share goes to the others.
            while (chosen.Count < count)
            {
                for (var s = 0; s < strata.Count && chosen.Count < count; s++)
                {
                    if (taken[s] < strata[s].Count)
                    {
                        chosen.Add(strata[s][taken[s]++]);
                    }
                }
            }
        }
        else
        {
            chosen = Shuffle(eligible, random).GetRange(0, count);
        }
        chosen.Sort();
        return new ItemSample([.. chosen.Select(i => items[i])], eligible.Count, skipped);
    }

    /// <summary>
    /// Label frequency per item: query-side, the train points of the label (its column count);
    /// label-side, the frequency of the document's rarest label (0 when it has none).
    /// </summary>
    public static int[] Frequencies(XcDataset dataset, MappingOrientation orientation)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var matrix = dataset.TrainLabels;
        var columnCounts = new int[matrix.Columns];
        foreach (var column in matrix.Indices)
        {
            columnCounts[column]++;
        }
        if (orientation == MappingOrientation.QuerySide)
        {
            return columnCounts;
        }
        return [.. Enumerable.Range(0, matrix.Rows).Select(r => RarestLabel(matrix, r, columnCounts))];
    }

    private static int RarestLabel(CsrMatrix matrix, int row, int[] counts)
    {
        var labels = matrix.RowIndices(row);
        var rarest = labels.Length == 0 ? 0 : int.MaxValue;
        foreach (var label in labels)
        {
            rarest = Math.Min(rarest, counts[label]);
        }
        return rarest;
    }

    private static List<int> Shuffle(List<int> values, Random random)
    {
        var result = new List<int>(values);
        for (var i = result.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (result[i], result[j]) = (result[j], result[i]);
        }
        return result;
    }
}
