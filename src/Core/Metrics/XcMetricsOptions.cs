namespace Skim.Core.Metrics;

/// <summary>How <see cref="XcMetrics"/> scores a prediction matrix.</summary>
public sealed record XcMetricsOptions
{
    /// <summary>Gets the largest k; every metric is reported for k = 1..MaxK. Defaults to 5 (pyxclib's <c>eval(pred, 5)</c>).</summary>
    public int MaxK { get; init; } = 5;

    /// <summary>
    /// Gets the inverse propensity weight of every label (see <see cref="Metrics.InversePropensity"/>);
    /// PSP@k and PSnDCG@k are computed only when it is set. Defaults to none.
    /// </summary>
    public IReadOnlyList<double>? InversePropensity { get; init; }

    /// <summary>Gets the (point, label) pairs removed from the predictions before scoring. Defaults to none.</summary>
    public PredictionFilter? Filter { get; init; }

    /// <summary>
    /// Gets whether stored zero scores of a sparse score matrix are dropped (NGAME's
    /// <c>eliminate_zeros</c> after filtering) instead of counting as predictions (pyxclib's
    /// <c>topk</c>). Defaults to false.
    /// </summary>
    public bool DropZeroScores { get; init; }

    /// <summary>Gets the file the predictions came from, named in data errors about them (a NaN score). Defaults to none.</summary>
    public string? PredictionsSource { get; init; }

    /// <summary>Gets the most threads to use; -1 uses every core. Results do not depend on it. Defaults to -1.</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;
}
