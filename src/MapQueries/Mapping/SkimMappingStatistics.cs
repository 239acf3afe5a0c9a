namespace Skim.MapQueries.Mapping;

/// <summary>What one application of the SKIM mapping rule did, for the augmentation report.</summary>
public sealed record SkimMappingStatistics
{
    /// <summary>Gets the number of synthetic texts that belong to a source row.</summary>
    public long SyntheticRows { get; init; }

    /// <summary>Gets the number of (synthetic text, neighbour) candidates looked at: synthetic rows × min(TopK, stored neighbours).</summary>
    public long PairsProposed { get; init; }

    /// <summary>Gets the number of candidates whose rescaled score reached the threshold, before duplicates were merged.</summary>
    public long PairsKept { get; init; }

    /// <summary>Gets the number of distinct (row, label) pairs left after duplicates were merged (the non-zeros of the new-pairs matrix).</summary>
    public long DistinctPairs { get; init; }

    /// <summary>Gets the number of distinct pairs the original matrix did not hold (no stored non-zero value).</summary>
    public long NewPairs { get; init; }

    /// <summary>Gets the number of distinct pairs the original matrix already held.</summary>
    public long AlreadyPresent { get; init; }

    /// <summary>Gets the number of matrix rows (points) that gained at least one new pair.</summary>
    public int RowsTouched { get; init; }

    /// <summary>Gets the number of labels (columns) that gained at least one new pair.</summary>
    public int LabelsTouched { get; init; }

    /// <summary>Gets the non-zeros of the original matrix.</summary>
    public long OriginalNonZeros { get; init; }

    /// <summary>Gets the non-zeros of the augmented matrix.</summary>
    public long AugmentedNonZeros { get; init; }
}
