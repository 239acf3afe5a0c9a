namespace Skim.Core.Datasets;

/// <summary>The file names of the two dataset layouts, relative to the dataset folder.</summary>
public static class XcDatasetFiles
{
    /// <summary>DEXML: train texts, one per line.</summary>
    public const string DexmlTrainTexts = "raw/trn_X.txt";

    /// <summary>DEXML: test texts, one per line.</summary>
    public const string DexmlTestTexts = "raw/tst_X.txt";

    /// <summary>DEXML: label texts, one per line.</summary>
    public const string DexmlLabelTexts = "raw/Y.txt";

    /// <summary>DEXML: train label matrix (scipy CSR).</summary>
    public const string DexmlTrainLabels = "Y.trn.npz";

    /// <summary>DEXML: test label matrix (scipy CSR).</summary>
    public const string DexmlTestLabels = "Y.tst.npz";

    /// <summary>DEXML: complete train label matrix of a dataset with simulated missing labels (Skim's addition).</summary>
    public const string DexmlFullTrainLabels = "Y.trn.full.npz";

    /// <summary>XC: train corpus (JSON lines, gzip).</summary>
    public const string XcTrainCorpus = "trn.json.gz";

    /// <summary>XC: test corpus (JSON lines, gzip).</summary>
    public const string XcTestCorpus = "tst.json.gz";

    /// <summary>XC: label corpus (JSON lines, gzip).</summary>
    public const string XcLabelCorpus = "lbl.json.gz";

    /// <summary>XC: train label matrix (sparse text).</summary>
    public const string XcTrainLabels = "trn_X_Y.txt";

    /// <summary>XC: test label matrix (sparse text).</summary>
    public const string XcTestLabels = "tst_X_Y.txt";

    /// <summary>XC: complete train label matrix of a dataset with simulated missing labels.</summary>
    public const string XcFullTrainLabels = "trn_X_Y_full.txt";

    /// <summary>Both layouts: (point, label) pairs filtered from test predictions.</summary>
    public const string TestFilter = "filter_labels_test.txt";

    /// <summary>Both layouts: (point, label) pairs filtered from train predictions.</summary>
    public const string TrainFilter = "filter_labels_train.txt";
}
