using Skim.Core.Datasets;

namespace Skim.Core.Tests.Datasets;

public class XcDatasetConverterTests
{
    [Fact]
    public void Dexml_to_xc_and_back_keeps_every_part()
    {
        // Given a DEXML dataset with a full train matrix and filters
        using var dir = new TempDirectory();
        var source = dir.File("dexml");
        DatasetFixture.WriteDexml(source, withFull: true);
        var original = XcDataset.Open(source);

        // When it is converted to XC and back to DEXML
        var xcFiles = XcDatasetConverter.Convert(original, XcDatasetLayout.Xc, dir.File("xc"));
        var xc = XcDataset.Open(dir.File("xc"));
        XcDatasetConverter.Convert(xc, XcDatasetLayout.Dexml, dir.File("back"));
        var back = XcDataset.Open(dir.File("back"));

        // Then each step has the same matrices, texts and filters
        Assert.Contains("trn_X_Y_full.txt", xcFiles);
        Assert.Equal(XcDatasetLayout.Xc, xc.Layout);
        Assert.Equal(XcDatasetLayout.Dexml, back.Layout);
        foreach (var copy in new[] { xc, back })
        {
            Assert.True(original.TrainLabels.ContentEquals(copy.TrainLabels));
            Assert.True(original.TestLabels.ContentEquals(copy.TestLabels));
            Assert.True(original.FullTrainLabels!.ContentEquals(copy.FullTrainLabels));
            Assert.Equal(original.TrainTexts, copy.TrainTexts);
            Assert.Equal(original.TestTexts, copy.TestTexts);
            Assert.Equal(original.LabelTexts, copy.LabelTexts);
            Assert.Equal(original.TestFilter, copy.TestFilter, FilterComparer.Instance);
            Assert.Equal(original.TrainFilter, copy.TrainFilter, FilterComparer.Instance);
        }
    }

    [Fact]
    public void Xc_to_dexml_and_back_keeps_matrices_and_corpus_records()
    {
        // Given an XC dataset
        using var dir = new TempDirectory();
        var source = dir.File("xc");
        DatasetFixture.WriteXc(source);
        var original = XcDataset.Open(source);

        // When it is converted to DEXML and back
        XcDatasetConverter.Convert(original, XcDatasetLayout.Dexml, dir.File("dexml"));
        var dexml = XcDataset.Open(dir.File("dexml"));
        XcDatasetConverter.Convert(dexml, XcDatasetLayout.Xc, dir.File("back"));
        var back = XcDataset.Open(dir.File("back"));

        // Then matrices, texts and filters survive, and the XC corpus lists the labels again
        Assert.True(original.TrainLabels.ContentEquals(back.TrainLabels));
        Assert.True(original.TestLabels.ContentEquals(back.TestLabels));
        Assert.Equal(original.TrainTexts, back.TrainTexts);
        Assert.Equal(original.LabelTexts, back.LabelTexts);
        Assert.Equal(original.TestFilter, back.TestFilter, FilterComparer.Instance);
        Assert.Equal(original.RecordsFor("trn")[5].TargetInd, back.RecordsFor("trn")[5].TargetInd);
        Assert.False(File.Exists(Path.Combine(dir.File("back"), "filter_labels_train.txt")));
    }

    [Fact]
    public void A_non_empty_output_folder_is_refused_and_left_alone()
    {
        // Given an output folder that already holds a file
        using var dir = new TempDirectory();
        DatasetFixture.WriteXc(dir.File("xc"));
        var dataset = XcDataset.Open(dir.File("xc"));
        Directory.CreateDirectory(dir.File("out"));
        File.WriteAllText(dir.File("out/keep.txt"), "mine");

        // When a conversion targets it
        var error = Assert.Throws<SkimConfigException>(() => XcDatasetConverter.Convert(dataset, XcDatasetLayout.Dexml, dir.File("out")));

        // Then it is refused, the file is untouched and no staging folder is left
        Assert.Contains("exists and is not empty", error.Message, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(dir.File("out/keep.txt")));
        Assert.Equal(2, Directory.GetFileSystemEntries(dir.Path).Length);
    }

    [Fact]
    public void A_failed_conversion_leaves_no_output_folder()
    {
        // Given a dataset whose texts turn out to be broken only when read (texts are lazy)
        using var dir = new TempDirectory();
        DatasetFixture.WriteXc(dir.File("xc"));
        var dataset = XcDataset.Open(dir.File("xc"));
        File.WriteAllText(Path.Combine(dir.File("xc"), "tst.json.gz"), "{\"title\": \"a\"}\n{\"title\": \"b\"}\n{broken\n{\"title\": \"d\"}\n");

        // When it is converted
        Assert.Throws<SkimFormatException>(() => XcDatasetConverter.Convert(dataset, XcDatasetLayout.Dexml, dir.File("out")));

        // Then neither the output nor a staging folder exists
        Assert.False(Directory.Exists(dir.File("out")));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));
    }

    private sealed class FilterComparer : IEqualityComparer<FilterPairs>
    {
        public static readonly FilterComparer Instance = new();

        public bool Equals(FilterPairs? x, FilterPairs? y) =>
            x is not null && y is not null && x.Points.SequenceEqual(y.Points) && x.Labels.SequenceEqual(y.Labels);

        public int GetHashCode(FilterPairs obj) => obj.Count;
    }
}
