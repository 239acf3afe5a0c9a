using Skim.Core.Datasets;
using Skim.Core.Formats.Corpus;
using Skim.Core.Formats.Npz;
using Skim.Core.Formats.XcText;

namespace Skim.Core.Tests.Datasets;

public class XcDatasetTests
{
    [Fact]
    public void A_dexml_folder_opens_with_matrices_texts_and_filters()
    {
        // Given a DEXML-layout folder
        using var dir = new TempDirectory();
        DatasetFixture.WriteDexml(dir.Path, withFull: true);

        // When it is opened
        var dataset = XcDataset.Open(dir.Path);

        // Then every part is there
        Assert.Equal(XcDatasetLayout.Dexml, dataset.Layout);
        Assert.Equal(5, dataset.NumLabels);
        Assert.True(DatasetFixture.Train().ContentEquals(dataset.TrainLabels));
        Assert.True(DatasetFixture.Test().ContentEquals(dataset.LabelsFor("tst")));
        Assert.True(DatasetFixture.FullTrain().ContentEquals(dataset.FullTrainLabels));
        Assert.Equal(DatasetFixture.TrainTexts, dataset.TrainTexts);
        Assert.Equal(DatasetFixture.TestTexts, dataset.TextsFor("test"));
        Assert.Equal(DatasetFixture.LabelTexts, dataset.LabelTexts);
        Assert.Equal(DatasetFixture.TestFilter().Points, dataset.FilterFor("tst").Points);
        Assert.Equal(DatasetFixture.TrainFilter().Labels, dataset.TrainFilter.Labels);
    }

    [Fact]
    public void An_xc_folder_opens_and_a_missing_filter_file_means_no_filter()
    {
        // Given an XC-layout folder without filter_labels_train.txt
        using var dir = new TempDirectory();
        DatasetFixture.WriteXc(dir.Path, withFull: true);

        // When it is opened
        var dataset = XcDataset.Open(dir.Path);

        // Then the matrices come from *_X_Y.txt and the texts from the corpora
        Assert.Equal(XcDatasetLayout.Xc, dataset.Layout);
        Assert.True(DatasetFixture.Train().ContentEquals(dataset.TrainLabels));
        Assert.True(DatasetFixture.Test().ContentEquals(dataset.TestLabels));
        Assert.True(DatasetFixture.FullTrain().ContentEquals(dataset.FullTrainLabels));
        Assert.Equal(DatasetFixture.TrainTexts, dataset.TrainTexts);
        Assert.Equal(DatasetFixture.LabelTexts, dataset.LabelTexts);
        Assert.Same(FilterPairs.Empty, dataset.TrainFilter);
        Assert.Equal(2, dataset.TestFilter.Count);
        Assert.Equal("trn3", dataset.RecordsFor("trn")[3].Uid);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_dataset_without_label_texts_opens_with_one_empty_text_per_label(bool dexml)
    {
        // Given a dataset folder of either layout whose label text file is absent
        using var dir = new TempDirectory();
        if (dexml)
        {
            DatasetFixture.WriteDexml(dir.Path);
            File.Delete(Path.Combine(dir.Path, XcDatasetFiles.DexmlLabelTexts));
        }
        else
        {
            DatasetFixture.WriteXc(dir.Path);
            File.Delete(Path.Combine(dir.Path, XcDatasetFiles.XcLabelCorpus));
        }

        // When it is opened
        var dataset = XcDataset.Open(dir.Path);

        // Then the label count comes from the matrices and every label has an empty text
        Assert.False(dataset.HasLabelTexts);
        Assert.Equal(5, dataset.NumLabels);
        Assert.Equal(Enumerable.Repeat("", 5), dataset.LabelTexts);
        Assert.Equal(5, dataset.RecordsFor("lbl").Count);
        Assert.Equal(DatasetFixture.TrainTexts, dataset.TrainTexts);
        Assert.True(DatasetFixture.Train().ContentEquals(dataset.TrainLabels));
        Assert.True(XcDataset.Open(WithLabels()).HasLabelTexts);

        string WithLabels()
        {
            var other = System.IO.Path.Combine(dir.Path, "with-labels");
            Directory.CreateDirectory(other);
            DatasetFixture.WriteXc(other);
            return other;
        }
    }

    [Fact]
    public void Without_x_y_files_the_matrices_are_built_from_target_ind()
    {
        // Given an XC folder with corpora only
        using var dir = new TempDirectory();
        DatasetFixture.WriteXc(dir.Path, withMatrices: false);

        // When it is opened
        var dataset = XcDataset.Open(dir.Path);

        // Then the matrices equal the ones the corpora list, relevances included
        Assert.True(DatasetFixture.Train().ContentEquals(dataset.TrainLabels));
        Assert.True(DatasetFixture.Test().ContentEquals(dataset.TestLabels));
        Assert.Null(dataset.FullTrainLabels);
    }

    [Fact]
    public void Duplicate_labels_in_target_ind_are_summed_as_scipy_does()
    {
        // Given a corpus listing label 2 twice for one point
        using var dir = new TempDirectory();
        DatasetFixture.WriteXc(dir.Path, withMatrices: false);
        XcCorpus.Write(Path.Combine(dir.Path, XcDatasetFiles.XcTestCorpus),
        [
            new XcCorpusRecord("a", "x", "", [2, 0, 2], [1f, 1f, 0.5f]),
            XcCorpusRecord.FromText("b", "y"),
            XcCorpusRecord.FromText("c", "z"),
            XcCorpusRecord.FromText("d", "w"),
        ]);

        // When it is opened
        var dataset = XcDataset.Open(dir.Path);

        // Then the row is sorted and the duplicate summed
        Assert.Equal([0, 2], dataset.TestLabels.RowIndices(0).ToArray());
        Assert.Equal([1f, 1.5f], dataset.TestLabels.RowValues(0).ToArray());
    }

    [Fact]
    public void Split_names_other_than_trn_and_tst_are_refused()
    {
        // Given an open dataset
        using var dir = new TempDirectory();
        DatasetFixture.WriteXc(dir.Path);
        var dataset = XcDataset.Open(dir.Path);

        // When an unknown split is asked for, Then a config error names it
        var error = Assert.Throws<SkimConfigException>(() => dataset.LabelsFor("val"));
        Assert.Contains("\"val\"", error.Message, StringComparison.Ordinal);
    }
}
