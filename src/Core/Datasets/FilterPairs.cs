namespace Skim.Core.Datasets;

/// <summary>
/// (point, label) pairs that are removed from predictions before scoring (the XC repository's
/// <c>filter_labels_test.txt</c> / <c>filter_labels_train.txt</c>): typically a label that is the
/// point itself, in datasets where points and labels come from the same collection.
/// </summary>
/// <param name="Points">The 0-based point (row) of each pair.</param>
/// <param name="Labels">The 0-based label (column) of each pair, parallel to <paramref name="Points"/>.</param>
public sealed record FilterPairs(int[] Points, int[] Labels)
{
    /// <summary>Gets the pairs of a dataset without a filter file.</summary>
    public static FilterPairs Empty { get; } = new([], []);

    /// <summary>Gets the number of pairs.</summary>
    public int Count => Points.Length;
}
