namespace Skim.Core.Datasets;

/// <summary>Which side of the training matrix the synthetic texts were written for, and so which side they are matched to.</summary>
public enum MappingOrientation
{
    /// <summary>
    /// LF-ORCAS-800K style: synthetic queries are written per label (a document) and matched to
    /// training queries; a synthetic query of label L close to training query q adds the pair (q, L).
    /// Sources are the matrix columns, neighbours are matrix rows.
    /// </summary>
    QuerySide,

    /// <summary>
    /// LF-WikiTitlesHierarchy-2M style: synthetic labels (categories) are written per training point
    /// and matched to labels; a synthetic category of point p close to label l adds the pair (p, l).
    /// Sources are the matrix rows, neighbours are matrix columns.
    /// </summary>
    LabelSide,
}
