using Skim.Core;
using Skim.Core.Sparse;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// Draws each training row's positives in proportion to relevance, without replacement, as DEXML's
/// <c>torch.multinomial(vals, n, replacement=False)</c>: successive draws, each proportional to the
/// weights of the labels not drawn yet. A soft label counts with its weight; an entry of weight 0
/// is not a positive.
/// </summary>
public static class PositiveSampler
{
    /// <summary>Gets the number of positives (entries with relevance above 0) of <paramref name="row"/> of the (rows × labels) training matrix.</summary>
    /// <exception cref="SkimDataException">A relevance of the row is negative or NaN.</exception>
    public static int PositiveCount(CsrMatrix labels, int row)
    {
        CheckRow(labels, row);
        var values = labels.RowValues(row);
        var count = 0;
        for (var j = 0; j < values.Length; j++)
        {
            if (Weight(labels, row, j, values[j]) > 0)
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>
    /// Draws min(<paramref name="count"/>, positives of the row) distinct label ids of
    /// <paramref name="row"/> of the (rows × labels) training matrix <paramref name="labels"/>, in draw order. (torch raises when asked for more than there are;
    /// here the caller gets all of them and pads as it needs.)
    /// </summary>
    /// <exception cref="SkimDataException">The row has no positive, or a relevance is negative or NaN.</exception>
    public static int[] Draw(CsrMatrix labels, int row, int count, Random random)
    {
        CheckRow(labels, row);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentNullException.ThrowIfNull(random);
        var ids = labels.RowIndices(row);
        var values = labels.RowValues(row);
        var weights = new double[values.Length];
        var positives = 0;
        for (var j = 0; j < values.Length; j++)
        {
            weights[j] = Weight(labels, row, j, values[j]);
            if (weights[j] > 0)
            {
                positives++;
            }
        }
        if (positives == 0)
        {
            throw new SkimDataException(null, $"row {row}", "has no positive label (no entry with relevance above 0); training rows need at least one, so filter such rows out first");
        }
        var drawn = new int[Math.Min(count, positives)];
        for (var d = 0; d < drawn.Length; d++)
        {
            // Re-summing each draw (rather than subtracting) keeps the remaining mass exact.
            var total = 0.0;
            var last = -1;
            for (var j = 0; j < weights.Length; j++)
            {
                if (weights[j] > 0)
                {
                    total += weights[j];
                    last = j;
                }
            }
            var u = random.NextDouble() * total;
            var pick = last;
            var cumulative = 0.0;
            for (var j = 0; j < weights.Length; j++)
            {
                cumulative += weights[j];
                if (weights[j] > 0 && u < cumulative)
                {
                    pick = j;
                    break;
                }
            }
            drawn[d] = ids[pick];
            weights[pick] = 0;
        }
        return drawn;
    }

    /// <summary>Draws positives for each of <paramref name="rows"/> in turn (see <see cref="Draw(CsrMatrix, int, int, Random)"/>).</summary>
    /// <exception cref="SkimDataException">A row has no positive, or a relevance is negative or NaN.</exception>
    public static int[][] Draw(CsrMatrix labels, IReadOnlyList<int> rows, int count, Random random)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var drawn = new int[rows.Count][];
        for (var i = 0; i < rows.Count; i++)
        {
            drawn[i] = Draw(labels, rows[i], count, random);
        }
        return drawn;
    }

    private static double Weight(CsrMatrix labels, int row, int entry, float value)
    {
        if (!(value >= 0) || float.IsPositiveInfinity(value))
        {
            var label = labels.RowIndices(row)[entry];
            throw new SkimDataException(null, $"row {row}, label {label}", $"relevance must be a finite number ≥ 0, found {value}");
        }
        return value;
    }

    private static void CheckRow(CsrMatrix labels, int row)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if ((uint)row >= (uint)labels.Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"expected a row in [0, {labels.Rows})");
        }
    }
}
