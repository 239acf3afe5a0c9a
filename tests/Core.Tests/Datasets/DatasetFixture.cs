using Skim.Core.Datasets;
using Skim.Core.Formats.Corpus;
using Skim.Core.Formats.Npz;
using Skim.Core.Formats.XcText;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Datasets;

/// <summary>A small dataset (6 train points, 4 test points, 5 labels) written in either layout by the real writers.</summary>
internal static class DatasetFixture
{
    public static readonly string[] TrainTexts = ["red apple", "green apple", "banana split", "cherry pie", "plain text", "apple pie"];
    public static readonly string[] TestTexts = ["apple", "pie crust", "nothing here", "banana"];
    public static readonly string[] LabelTexts = ["fruit", "apple", "dessert", "yellow", "unused"];

    // Row 4 of train and row 2 of test are empty; label 4 has no train point.
    public static CsrMatrix Train() => new(6, 5, [0, 2, 4, 6, 8, 8, 11], [0, 1, 0, 1, 0, 3, 0, 2, 0, 1, 2], [1, 1, 1, 1, 1, 0.5f, 1, 1, 1, 1, 1]);

    public static CsrMatrix Test() => new(4, 5, [0, 2, 3, 3, 5], [0, 1, 2, 0, 3], [1, 1, 1, 1, 1]);

    // The complete train matrix: the observed one plus pairs a simulated-missing step dropped.
    public static CsrMatrix FullTrain() => new(6, 5, [0, 2, 4, 6, 9, 10, 13], [0, 1, 0, 1, 0, 3, 0, 2, 4, 4, 0, 1, 2], [1, 1, 1, 1, 1, 0.5f, 1, 1, 1, 1, 1, 1, 1]);

    public static FilterPairs TestFilter() => new([1, 3], [4, 3]);

    public static FilterPairs TrainFilter() => new([0], [4]);

    public static void WriteDexml(string dir, bool withFull = false, bool withFilters = true)
    {
        TextLines.Write(Path.Combine(dir, XcDatasetFiles.DexmlTrainTexts), TrainTexts);
        TextLines.Write(Path.Combine(dir, XcDatasetFiles.DexmlTestTexts), TestTexts);
        TextLines.Write(Path.Combine(dir, XcDatasetFiles.DexmlLabelTexts), LabelTexts);
        SparseNpz.Save(Path.Combine(dir, XcDatasetFiles.DexmlTrainLabels), Train());
        SparseNpz.Save(Path.Combine(dir, XcDatasetFiles.DexmlTestLabels), Test());
        if (withFull)
        {
            SparseNpz.Save(Path.Combine(dir, XcDatasetFiles.DexmlFullTrainLabels), FullTrain());
        }
        if (withFilters)
        {
            FilterLabelFile.Write(Path.Combine(dir, XcDatasetFiles.TestFilter), TestFilter());
            FilterLabelFile.Write(Path.Combine(dir, XcDatasetFiles.TrainFilter), TrainFilter());
        }
    }

    public static void WriteXc(string dir, bool withMatrices = true, bool withFull = false)
    {
        XcCorpus.Write(Path.Combine(dir, XcDatasetFiles.XcTrainCorpus), Records("trn", TrainTexts, Train()));
        XcCorpus.Write(Path.Combine(dir, XcDatasetFiles.XcTestCorpus), Records("tst", TestTexts, Test()));
        XcCorpus.Write(Path.Combine(dir, XcDatasetFiles.XcLabelCorpus), LabelTexts.Select((t, i) => XcCorpusRecord.FromText($"lbl{i}", t)));
        if (withMatrices)
        {
            XcSparseText.Write(Path.Combine(dir, XcDatasetFiles.XcTrainLabels), Train());
            XcSparseText.Write(Path.Combine(dir, XcDatasetFiles.XcTestLabels), Test());
        }
        if (withFull)
        {
            XcSparseText.Write(Path.Combine(dir, XcDatasetFiles.XcFullTrainLabels), FullTrain());
        }
        FilterLabelFile.Write(Path.Combine(dir, XcDatasetFiles.TestFilter), TestFilter());
    }

    private static IEnumerable<XcCorpusRecord> Records(string prefix, string[] texts, CsrMatrix labels) =>
        texts.Select((t, i) => new XcCorpusRecord($"{prefix}{i}", t, "", labels.RowIndices(i).ToArray(), labels.RowValues(i).ToArray()));
}
