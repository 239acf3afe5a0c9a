namespace Skim.Core.Datasets;

/// <summary>The on-disk layouts an XC dataset folder can have (see <see cref="XcDataset"/>).</summary>
public enum XcDatasetLayout
{
    /// <summary>
    /// DEXML's layout: <c>raw/trn_X.txt</c>, <c>raw/tst_X.txt</c>, <c>raw/Y.txt</c> (one text per
    /// line) and <c>Y.trn.npz</c>, <c>Y.tst.npz</c> (scipy CSR, rows = points, columns = labels).
    /// </summary>
    Dexml,

    /// <summary>
    /// The XC repository's (and NGAME's) layout: <c>trn.json.gz</c>, <c>tst.json.gz</c>,
    /// <c>lbl.json.gz</c> corpora and <c>trn_X_Y.txt</c>, <c>tst_X_Y.txt</c> sparse text matrices.
    /// </summary>
    Xc,
}
