namespace Skim.Core.Sparse;

/// <summary>How entries that land on the same (row, column) cell are combined into one.</summary>
public enum DuplicateReduction
{
    /// <summary>Values are added, as scipy's <c>coo_matrix.tocsr()</c> and <c>sum_duplicates()</c> do.</summary>
    Sum,

    /// <summary>The largest value is kept (SKIM keeps the best similarity when two synthetic queries map to one pair).</summary>
    Max,
}
