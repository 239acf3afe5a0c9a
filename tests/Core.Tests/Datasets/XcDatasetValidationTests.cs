using Skim.Core.Datasets;
using Skim.Core.Formats.Corpus;
using Skim.Core.Formats.Npz;
using Skim.Core.Formats.XcText;
using Skim.Core.Sparse;

namespace Skim.Core.Tests.Datasets;

public class XcDatasetValidationTests
{
    public static TheoryData<string, Action<string>, string> BrokenDexml() => new()
    {
        {
            "train texts one line short",
            dir => TextLines.Write(Path.Combine(dir, XcDatasetFiles.DexmlTrainTexts), DatasetFixture.TrainTexts[..^1]),
            "raw/trn_X.txt has 5 lines but Y.trn.npz has 6 rows"
        },
        {
            "test texts one line long",
            dir => TextLines.Write(Path.Combine(dir, XcDatasetFiles.DexmlTestTexts), [.. DatasetFixture.TestTexts, "extra"]),
            "raw/tst_X.txt has 5 lines but Y.tst.npz has 4 rows"
        },
        {
            "label texts do not match the columns",
            dir => TextLines.Write(Path.Combine(dir, XcDatasetFiles.DexmlLabelTexts), DatasetFixture.LabelTexts[..3]),
            "raw/Y.txt has 3 lines but Y.trn.npz has 5 columns"
        },
        {
            "test matrix with other columns",
            dir => SparseNpz.Save(Path.Combine(dir, XcDatasetFiles.DexmlTestLabels), CsrMatrix.Empty(4, 6)),
            "Y.tst.npz has 6 columns but Y.trn.npz has 5"
        },
        {
            "full train matrix of another shape",
            dir => SparseNpz.Save(Path.Combine(dir, XcDatasetFiles.DexmlFullTrainLabels), CsrMatrix.Empty(7, 5)),
            "Y.trn.full.npz is 7x5 but Y.trn.npz is 6x5"
        },
        {
            "test filter pair out of range",
            dir => File.WriteAllText(Path.Combine(dir, XcDatasetFiles.TestFilter), "0 1\n4 0\n"),
            "filter_labels_test.txt: line 2: point 4 is out of range: the split has 4 points"
        },
        {
            "train filter label out of range",
            dir => File.WriteAllText(Path.Combine(dir, XcDatasetFiles.TrainFilter), "0 5\n"),
            "filter_labels_train.txt: line 1: label 5 is out of range: the dataset has 5 labels"
        },
        {
            "missing test matrix",
            dir => File.Delete(Path.Combine(dir, XcDatasetFiles.DexmlTestLabels)),
            "incomplete DEXML-layout dataset: missing Y.tst.npz"
        },
        {
            "invalid UTF-8 in a text file",
            dir => File.WriteAllBytes(Path.Combine(dir, XcDatasetFiles.DexmlTrainTexts), [0x61, 0x0a, 0xff, 0x0a, 0x63, 0x0a, 0x64, 0x0a, 0x65, 0x0a, 0x66, 0x0a]),
            "raw/trn_X.txt: line 2: invalid UTF-8"
        },
    };

    [Theory]
    [MemberData(nameof(BrokenDexml))]
    public void A_broken_dexml_dataset_gets_one_error_naming_the_file(string name, Action<string> breakIt, string expected)
    {
        // Given a DEXML dataset broken in one way
        using var dir = new TempDirectory();
        DatasetFixture.WriteDexml(dir.Path);
        breakIt(dir.Path);

        // When it is opened and its texts read
        var error = Assert.Throws<SkimFormatException>(() => XcDataset.Open(dir.Path).TrainTexts.Count);

        // Then one line says which file is wrong and how
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(string.IsNullOrEmpty(name));
    }

    public static TheoryData<string, Action<string>, string> BrokenXc() => new()
    {
        {
            "train matrix with one row too many",
            dir => XcSparseText.Write(Path.Combine(dir, XcDatasetFiles.XcTrainLabels), CsrMatrix.Empty(7, 5)),
            "trn.json.gz has 6 records but trn_X_Y.txt has 7 rows"
        },
        {
            "matrix columns differ from the label count",
            dir => XcSparseText.Write(Path.Combine(dir, XcDatasetFiles.XcTestLabels), CsrMatrix.Empty(4, 9)),
            "tst_X_Y.txt has 9 columns but lbl.json.gz has 5 labels"
        },
        {
            "label corpus missing and no matrix to count the labels",
            dir =>
            {
                File.Delete(Path.Combine(dir, XcDatasetFiles.XcLabelCorpus));
                File.Delete(Path.Combine(dir, XcDatasetFiles.XcTestLabels));
            },
            "incomplete XC-layout dataset: missing lbl.json.gz (or trn_X_Y.txt and tst_X_Y.txt to count labels without label texts)"
        },
        {
            "index beyond the header in trn_X_Y.txt",
            dir => File.WriteAllText(Path.Combine(dir, XcDatasetFiles.XcTrainLabels), "6 5\n0:1.0 7:1.0\n"),
            "trn_X_Y.txt: line 2: index 7 is beyond the header's 5 columns"
        },
    };

    [Theory]
    [MemberData(nameof(BrokenXc))]
    public void A_broken_xc_dataset_gets_one_error_naming_the_file(string name, Action<string> breakIt, string expected)
    {
        // Given an XC dataset broken in one way
        using var dir = new TempDirectory();
        DatasetFixture.WriteXc(dir.Path);
        breakIt(dir.Path);

        // When it is opened
        var error = Assert.Throws<SkimFormatException>(() => XcDataset.Open(dir.Path));

        // Then one line says which file is wrong and how
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void A_target_ind_label_beyond_the_label_corpus_names_the_record()
    {
        // Given corpora only, with a train record pointing at label 9 of 5
        using var dir = new TempDirectory();
        DatasetFixture.WriteXc(dir.Path, withMatrices: false);
        XcCorpus.Write(Path.Combine(dir.Path, XcDatasetFiles.XcTrainCorpus),
            DatasetFixture.TrainTexts.Select((t, i) => new XcCorpusRecord($"{i}", t, "", i == 2 ? [9] : [], i == 2 ? [1f] : [])));

        // When it is opened
        var error = Assert.Throws<SkimFormatException>(() => XcDataset.Open(dir.Path));

        // Then the record and the label count are named
        Assert.Contains("trn.json.gz: record 3: target_ind holds label 9, but lbl.json.gz has 5 labels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_that_is_no_dataset_says_what_it_expected()
    {
        // Given an empty folder and a missing one
        using var dir = new TempDirectory();

        // When they are opened, Then the errors say what is expected
        Assert.Contains("not a dataset folder", Assert.Throws<SkimFormatException>(() => XcDataset.Open(dir.Path)).Message, StringComparison.Ordinal);
        Assert.Contains("dataset folder not found", Assert.Throws<SkimFormatException>(() => XcDataset.Open(dir.File("nope"))).Message, StringComparison.Ordinal);
    }
}
