using Skim.Core.Sparse;

namespace Skim.Core.Metrics;

/// <summary>
/// Inverse propensity weights of Jain et al. (2016), computed as pyxclib's
/// <c>compute_inv_propesity(labels, A, B)</c>: with <c>N</c> train rows and <c>n_l</c> the column sum
/// of label <c>l</c>, <c>C = (ln N − 1)·(B + 1)^A</c> and <c>w_l = 1 + C·(n_l + B)^(−A)</c>.
/// </summary>
public static class InversePropensity
{
    /// <summary>The A of datasets outside the Wikipedia and Amazon families (0.55).</summary>
    public const double DefaultA = 0.55;

    /// <summary>The B of datasets outside the Wikipedia and Amazon families (1.5).</summary>
    public const double DefaultB = 1.5;

    /// <summary>
    /// Computes <c>w_l</c> for every column of <paramref name="trainLabels"/>. Column sums add the
    /// stored values (not binarised), as pyxclib does; a label never seen gets <c>1 + C·B^(−A)</c>.
    /// </summary>
    /// <exception cref="SkimDataException">The train matrix has no rows.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A or B is not finite, or B is not positive.</exception>
    public static double[] Compute(CsrMatrix trainLabels, double a, double b)
    {
        ArgumentNullException.ThrowIfNull(trainLabels);
        if (trainLabels.Rows == 0)
        {
            throw new SkimDataException(null, null, "inverse propensity needs a train matrix with at least one row, found 0 rows");
        }
        // A and B are settings the caller chose (the CLI checks --A and --B), not values read from data.
        if (!double.IsFinite(a))
        {
            throw new ArgumentOutOfRangeException(nameof(a), a, "A must be a finite number");
        }
        // B <= 0 would give an unseen label (n_l = 0) an infinite or undefined weight.
        if (!double.IsFinite(b) || b <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(b), b, "B must be a finite number above 0");
        }

        var frequencies = new double[trainLabels.Columns];
        var indices = trainLabels.Indices;
        var data = trainLabels.Data;
        for (var e = 0; e < indices.Length; e++)
        {
            frequencies[indices[e]] += data[e];
        }

        var c = (Math.Log(trainLabels.Rows) - 1) * Math.Pow(b + 1, a);
        var weights = frequencies;
        for (var l = 0; l < weights.Length; l++)
        {
            weights[l] = 1 + (c * Math.Pow(frequencies[l] + b, -a));
        }
        return weights;
    }

    /// <summary>
    /// Gets the (A, B) that DEXML's <c>get_inv_prop</c> picks from a dataset name: "amazon" anywhere in
    /// the lower-cased name gives (0.6, 2.6); else "wiki" but not "wikiseealso" gives (0.5, 0.4); every
    /// other name gives (<see cref="DefaultA"/>, <see cref="DefaultB"/>).
    /// </summary>
    public static (double A, double B) DefaultsFor(string datasetName)
    {
        ArgumentNullException.ThrowIfNull(datasetName);
        var name = datasetName.ToLowerInvariant();
        if (name.Contains("amazon", StringComparison.Ordinal))
        {
            return (0.6, 2.6);
        }
        if (name.Contains("wiki", StringComparison.Ordinal) && !name.Contains("wikiseealso", StringComparison.Ordinal))
        {
            return (0.5, 0.4);
        }
        return (DefaultA, DefaultB);
    }
}
