namespace Skim.Core.Metrics;

/// <summary>The XC metrics reported by <see cref="XcMetrics"/>.</summary>
public enum XcMetric
{
    /// <summary>Precision at k (P@k).</summary>
    Precision,

    /// <summary>Normalised discounted cumulative gain at k (nDCG@k).</summary>
    Ndcg,

    /// <summary>Propensity-scored precision at k (PSP@k).</summary>
    PsPrecision,

    /// <summary>Propensity-scored nDCG at k (PSnDCG@k).</summary>
    PsNdcg,

    /// <summary>Recall at k (R@k, pyxclib's <c>recall</c>).</summary>
    Recall,
}

/// <summary>
/// Metric values for k = 1..<see cref="MaxK"/>, as fractions (pyxclib prints them × 100). Element
/// <c>k − 1</c> of each array is the value at k.
/// </summary>
public sealed class XcMetricsResult
{
    internal XcMetricsResult(int rows, int maxK, double[] precision, double[] ndcg, double[] recall, double[]? psPrecision, double[]? psNdcg)
    {
        Rows = rows;
        MaxK = maxK;
        Precision = precision;
        Ndcg = ndcg;
        Recall = recall;
        PsPrecision = psPrecision;
        PsNdcg = psNdcg;
    }

    /// <summary>Gets the number of rows averaged over (rows without labels included).</summary>
    public int Rows { get; }

    /// <summary>Gets the largest k.</summary>
    public int MaxK { get; }

    /// <summary>Gets P@k.</summary>
    public double[] Precision { get; }

    /// <summary>Gets nDCG@k.</summary>
    public double[] Ndcg { get; }

    /// <summary>Gets R@k.</summary>
    public double[] Recall { get; }

    /// <summary>Gets PSP@k, or null when no propensities were given.</summary>
    public double[]? PsPrecision { get; }

    /// <summary>Gets PSnDCG@k, or null when no propensities were given.</summary>
    public double[]? PsNdcg { get; }

    /// <summary>Gets whether <paramref name="metric"/> was computed.</summary>
    public bool Has(XcMetric metric) => Values(metric) is not null;

    /// <summary>Gets <paramref name="metric"/> at <paramref name="k"/> (1-based).</summary>
    /// <exception cref="ArgumentOutOfRangeException">k is outside 1..MaxK.</exception>
    /// <exception cref="InvalidOperationException">The metric was not computed (no propensities).</exception>
    public double Get(XcMetric metric, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, MaxK);
        var values = Values(metric) ?? throw new InvalidOperationException($"{metric} needs inverse propensities, which were not given");
        return values[k - 1];
    }

    private double[]? Values(XcMetric metric) => metric switch
    {
        XcMetric.Precision => Precision,
        XcMetric.Ndcg => Ndcg,
        XcMetric.Recall => Recall,
        XcMetric.PsPrecision => PsPrecision,
        XcMetric.PsNdcg => PsNdcg,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "unknown metric"),
    };
}
