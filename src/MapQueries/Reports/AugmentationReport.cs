namespace Skim.MapQueries.Reports;

/// <summary>
/// What one application of the mapping rule added to the training matrix, in numbers a reader can
/// check: pair counts, where the new pairs land by label frequency, the score distribution against the
/// threshold, a sample of mappings with their texts, and (when the dataset has the complete matrix)
/// how many added pairs are right.
/// </summary>
public sealed record AugmentationReport
{
    /// <summary>Gets "query-side" or "label-side".</summary>
    public required string Orientation { get; init; }

    /// <summary>Gets the neighbours considered per synthetic text.</summary>
    public required int TopK { get; init; }

    /// <summary>Gets the smallest rescaled score kept.</summary>
    public required float Threshold { get; init; }

    /// <summary>Gets the synthetic texts that belong to a source (label or training point).</summary>
    public required long SyntheticRows { get; init; }

    /// <summary>Gets the number of targets searched (training queries or labels).</summary>
    public required int Targets { get; init; }

    /// <summary>Gets the stored pairs of the observed training matrix.</summary>
    public required long PairsBefore { get; init; }

    /// <summary>Gets the stored pairs of the augmented matrix.</summary>
    public required long PairsAfter { get; init; }

    /// <summary>Gets the distinct pairs the rule proposed that the observed matrix did not hold.</summary>
    public required long PairsAdded { get; init; }

    /// <summary>Gets the distinct pairs the rule proposed that the observed matrix already held.</summary>
    public required long PairsAlreadyPresent { get; init; }

    /// <summary>Gets the training points that gained a pair.</summary>
    public required int RowsTouched { get; init; }

    /// <summary>Gets the labels that gained a pair.</summary>
    public required int LabelsTouched { get; init; }

    /// <summary>Gets the labels with no training point in the observed matrix.</summary>
    public required int LabelsWithoutPoints { get; init; }

    /// <summary>Gets the labels that had no training point and gained at least one.</summary>
    public required int LabelsGainingFirstPoint { get; init; }

    /// <summary>Gets up to 20 of those labels (lowest ids first).</summary>
    public required IReadOnlyList<int> FirstPointLabels { get; init; }

    /// <summary>Gets the labels in ten groups by observed training frequency, head (1) to tail (10), with the pairs each gained.</summary>
    public required IReadOnlyList<LabelDecile> Deciles { get; init; }

    /// <summary>Gets the histogram of the rescaled scores of the neighbours the rule looked at.</summary>
    public required ScoreHistogram Scores { get; init; }

    /// <summary>Gets a sample of kept mappings with their texts, in synthetic-row order.</summary>
    public required IReadOnlyList<MappingTriple> Sample { get; init; }

    /// <summary>Gets the comparison with the complete matrix, or null when the dataset has none.</summary>
    public GroundTruthComparison? VersusFull { get; init; }
}

/// <summary>One tenth of the labels, by observed training frequency.</summary>
/// <param name="Decile">1 for the most frequent labels (head) to 10 for the rarest (tail).</param>
/// <param name="Labels">Labels in the group.</param>
/// <param name="MinFrequency">The smallest observed frequency in the group.</param>
/// <param name="MaxFrequency">The largest observed frequency in the group.</param>
/// <param name="PairsBefore">Observed pairs of the group's labels.</param>
/// <param name="PairsAdded">Pairs added to the group's labels.</param>
/// <param name="LabelsGaining">Labels of the group that gained at least one pair.</param>
public sealed record LabelDecile(int Decile, int Labels, int MinFrequency, int MaxFrequency, long PairsBefore, long PairsAdded, int LabelsGaining);

/// <summary>Counts of rescaled neighbour scores <c>(s + 1) / 2</c> in equal bins over [0, 1].</summary>
/// <param name="BinEdges">Bin edges, ascending, one more than the counts.</param>
/// <param name="Counts">Scores per bin (values outside [0, 1] count in the end bins).</param>
/// <param name="Threshold">The threshold the rule applied.</param>
/// <param name="AtOrAboveThreshold">Scores that reached the threshold.</param>
/// <param name="Total">All scores counted.</param>
public sealed record ScoreHistogram(double[] BinEdges, long[] Counts, float Threshold, long AtOrAboveThreshold, long Total);

/// <summary>One kept mapping: a synthetic text, the item it was written for, the target it matched, and the resulting pair.</summary>
/// <param name="SyntheticRow">The synthetic text's line (0-based) in raw_rewrites.txt.</param>
/// <param name="SyntheticText">The synthetic text.</param>
/// <param name="Source">The item it was written for: a label (query-side) or a training point (label-side).</param>
/// <param name="SourceText">That item's text.</param>
/// <param name="Mapped">The matched target: a training query (query-side) or a label (label-side).</param>
/// <param name="MappedText">That target's text.</param>
/// <param name="Row">The training point of the pair.</param>
/// <param name="Label">The label of the pair.</param>
/// <param name="Score">The rescaled score.</param>
/// <param name="New">Whether the observed matrix lacked the pair.</param>
public sealed record MappingTriple(long SyntheticRow, string SyntheticText, int Source, string SourceText, int Mapped, string MappedText, int Row, int Label, float Score, bool New);

/// <summary>The added pairs against the complete matrix (before simulated label removal).</summary>
/// <param name="Added">Pairs added (not in the observed matrix).</param>
/// <param name="AddedInFull">Added pairs the complete matrix holds.</param>
/// <param name="Removed">Pairs of the complete matrix missing from the observed one.</param>
/// <param name="Precision">AddedInFull / Added (0 when nothing was added).</param>
/// <param name="Recall">AddedInFull / Removed: the share of removed pairs the augmentation restored (0 when none were removed).</param>
/// <param name="AbsentPairs">Cells of the observed matrix without a pair.</param>
/// <param name="RandomPrecision">Removed / AbsentPairs: the precision of adding absent pairs at random.</param>
public sealed record GroundTruthComparison(long Added, long AddedInFull, long Removed, double Precision, double Recall, long AbsentPairs, double RandomPrecision);
