using Skim.Core.Formats.Corpus;
using Skim.Core.Formats.XcText;
using Skim.Core.Sparse;

namespace Skim.Core.Datasets;

/// <summary>
/// An XC dataset folder in either layout (<see cref="XcDatasetLayout"/>): train and test label
/// matrices, texts of points and labels, and the filter pairs. <see cref="Open"/> detects the
/// layout and checks that the parts agree; texts are read on first use.
/// </summary>
public sealed class XcDataset
{
    /// <summary>The name of the train split.</summary>
    public const string TrainSplit = "trn";

    /// <summary>The name of the test split.</summary>
    public const string TestSplit = "tst";

    /// <summary>The name of the label "split" (label texts and records).</summary>
    public const string LabelSplit = "lbl";

    private readonly Lazy<IReadOnlyList<XcCorpusRecord>> _trainRecords;
    private readonly Lazy<IReadOnlyList<XcCorpusRecord>> _testRecords;
    private readonly Lazy<IReadOnlyList<XcCorpusRecord>> _labelRecords;
    private readonly Lazy<IReadOnlyList<string>> _trainTexts;
    private readonly Lazy<IReadOnlyList<string>> _testTexts;
    private readonly Lazy<IReadOnlyList<string>> _labelTexts;

    private XcDataset(string directory, XcDatasetLayout layout, Parts parts)
    {
        Directory = directory;
        Layout = layout;
        TrainLabels = parts.Train;
        TestLabels = parts.Test;
        FullTrainLabels = parts.FullTrain;
        TrainFilter = parts.TrainFilter;
        TestFilter = parts.TestFilter;
        HasLabelTexts = parts.HasLabelTexts;
        _trainRecords = new(() => parts.TrainRecords(TrainLabels));
        _testRecords = new(() => parts.TestRecords(TestLabels));
        _labelRecords = new(parts.LabelRecords);
        _trainTexts = new(parts.TrainTexts);
        _testTexts = new(parts.TestTexts);
        _labelTexts = new(parts.LabelTexts);
    }

    /// <summary>Gets the dataset folder.</summary>
    public string Directory { get; }

    /// <summary>Gets the layout the folder has.</summary>
    public XcDatasetLayout Layout { get; }

    /// <summary>Gets the number of labels (columns of the label matrices).</summary>
    public int NumLabels => TrainLabels.Columns;

    /// <summary>Gets the train label matrix (points × labels); with simulated missing labels, the observed one.</summary>
    public CsrMatrix TrainLabels { get; }

    /// <summary>Gets the test label matrix (points × labels).</summary>
    public CsrMatrix TestLabels { get; }

    /// <summary>Gets the complete train matrix of a dataset with simulated missing labels, or null when the folder has none.</summary>
    public CsrMatrix? FullTrainLabels { get; }

    /// <summary>Gets the pairs filtered from train predictions (<see cref="FilterPairs.Empty"/> without a file).</summary>
    public FilterPairs TrainFilter { get; }

    /// <summary>Gets the pairs filtered from test predictions (<see cref="FilterPairs.Empty"/> without a file).</summary>
    public FilterPairs TestFilter { get; }

    /// <summary>Gets the text of each train point (read on first use).</summary>
    public IReadOnlyList<string> TrainTexts => _trainTexts.Value;

    /// <summary>Gets the text of each test point (read on first use).</summary>
    public IReadOnlyList<string> TestTexts => _testTexts.Value;

    /// <summary>Gets the text of each label (read on first use); empty strings when the dataset has no label texts.</summary>
    public IReadOnlyList<string> LabelTexts => _labelTexts.Value;

    /// <summary>
    /// Gets whether the folder has label texts. A dataset without them (no <c>lbl.json.gz</c> next to
    /// <c>trn_X_Y.txt</c>, no <c>raw/Y.txt</c>: label ids only, as in many XC benchmarks) has an empty
    /// text per label, and trainers learn a label embedding table instead of encoding label text.
    /// </summary>
    public bool HasLabelTexts { get; }

    /// <summary>
    /// Opens the dataset in <paramref name="directory"/>, detecting its layout, and checks that text
    /// counts match matrix rows, that all matrices have one column per label text, and that filter
    /// pairs lie inside the matrices.
    /// </summary>
    /// <exception cref="SkimFormatException">A file is missing, malformed or inconsistent with another; the message names it.</exception>
    public static XcDataset Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new SkimFormatException(directory, null, "dataset folder not found");
        }
        var layout = DetectLayout(directory) ?? throw new SkimFormatException(directory, null,
            $"not a dataset folder: expected the DEXML layout ({XcDatasetFiles.DexmlTrainLabels}, {XcDatasetFiles.DexmlTestLabels}, raw/) or the XC layout ({XcDatasetFiles.XcTrainCorpus}, {XcDatasetFiles.XcTestCorpus}, {XcDatasetFiles.XcLabelCorpus}, {XcDatasetFiles.XcTrainLabels}, {XcDatasetFiles.XcTestLabels})");
        var parts = layout == XcDatasetLayout.Dexml ? OpenDexml(directory) : OpenXc(directory);
        return new XcDataset(directory, layout, parts);
    }

    /// <summary>Returns the layout of <paramref name="directory"/>, or null when it has neither (DEXML wins when both are present).</summary>
    public static XcDatasetLayout? DetectLayout(string directory)
    {
        if (File.Exists(Path.Combine(directory, XcDatasetFiles.DexmlTrainLabels))
            || File.Exists(Path.Combine(directory, XcDatasetFiles.DexmlTrainTexts)))
        {
            return XcDatasetLayout.Dexml;
        }
        if (FindCorpus(directory, TrainSplit) is not null || File.Exists(Path.Combine(directory, XcDatasetFiles.XcTrainLabels)))
        {
            return XcDatasetLayout.Xc;
        }
        return null;
    }

    /// <summary>Gets the label matrix of <paramref name="split"/> (<c>trn</c> or <c>tst</c>; <c>train</c>/<c>test</c> also work).</summary>
    /// <exception cref="SkimConfigException">The split is neither.</exception>
    public CsrMatrix LabelsFor(string split) => IsTrain(split) ? TrainLabels : TestLabels;

    /// <summary>Gets the filter pairs of <paramref name="split"/> (<c>trn</c> or <c>tst</c>).</summary>
    /// <exception cref="SkimConfigException">The split is neither.</exception>
    public FilterPairs FilterFor(string split) => IsTrain(split) ? TrainFilter : TestFilter;

    /// <summary>Gets the texts of <paramref name="split"/> (<c>trn</c>, <c>tst</c> or <c>lbl</c>).</summary>
    /// <exception cref="SkimConfigException">The split is none of these.</exception>
    public IReadOnlyList<string> TextsFor(string split) =>
        IsLabel(split) ? LabelTexts : IsTrain(split) ? TrainTexts : TestTexts;

    /// <summary>
    /// Gets the corpus records of <paramref name="split"/> (<c>trn</c>, <c>tst</c> or <c>lbl</c>): the
    /// corpus lines in the XC layout; in the DEXML layout, records built from the texts (uid = line
    /// number from 0, title = text) and the label matrix rows.
    /// </summary>
    /// <exception cref="SkimConfigException">The split is none of these.</exception>
    public IReadOnlyList<XcCorpusRecord> RecordsFor(string split) =>
        IsLabel(split) ? _labelRecords.Value : IsTrain(split) ? _trainRecords.Value : _testRecords.Value;

    /// <summary>Gets the name users know a layout by: <c>DEXML</c> or <c>XC</c>.</summary>
    public static string LayoutName(XcDatasetLayout layout) => layout == XcDatasetLayout.Dexml ? "DEXML" : "XC";

    private static bool IsLabel(string split) => split is LabelSplit or "label" or "labels";

    /// <summary>Gets the canonical name (<c>trn</c> or <c>tst</c>) of a split given as <c>trn</c>, <c>tst</c>, <c>train</c> or <c>test</c>.</summary>
    /// <exception cref="SkimConfigException">The split is none of these.</exception>
    public static string NormalizeSplit(string split) => IsTrain(split) ? TrainSplit : TestSplit;

    private static bool IsTrain(string split) => split switch
    {
        TrainSplit or "train" => true,
        TestSplit or "test" => false,
        _ => throw new SkimConfigException($"split: expected \"{TrainSplit}\" or \"{TestSplit}\", found \"{split}\""),
    };

    private static Parts OpenDexml(string directory)
    {
        string P(string name) => Path.Combine(directory, name);
        RequireFiles(directory, XcDatasetLayout.Dexml,
            XcDatasetFiles.DexmlTrainLabels, XcDatasetFiles.DexmlTestLabels,
            XcDatasetFiles.DexmlTrainTexts, XcDatasetFiles.DexmlTestTexts);
        var hasLabelTexts = File.Exists(P(XcDatasetFiles.DexmlLabelTexts));
        var train = DatasetNpz.Load(P(XcDatasetFiles.DexmlTrainLabels));
        var test = DatasetNpz.Load(P(XcDatasetFiles.DexmlTestLabels));
        var full = File.Exists(P(XcDatasetFiles.DexmlFullTrainLabels)) ? DatasetNpz.Load(P(XcDatasetFiles.DexmlFullTrainLabels)) : null;
        CheckColumns(directory, XcDatasetFiles.DexmlTrainLabels, train, XcDatasetFiles.DexmlTestLabels, test);
        if (full is not null)
        {
            CheckSameShape(directory, XcDatasetFiles.DexmlFullTrainLabels, full, XcDatasetFiles.DexmlTrainLabels, train);
        }
        CheckCount(directory, XcDatasetFiles.DexmlTrainTexts, TextLines.Count(P(XcDatasetFiles.DexmlTrainTexts)), "lines", XcDatasetFiles.DexmlTrainLabels, train.Rows, "rows");
        CheckCount(directory, XcDatasetFiles.DexmlTestTexts, TextLines.Count(P(XcDatasetFiles.DexmlTestTexts)), "lines", XcDatasetFiles.DexmlTestLabels, test.Rows, "rows");
        if (hasLabelTexts)
        {
            CheckCount(directory, XcDatasetFiles.DexmlLabelTexts, TextLines.Count(P(XcDatasetFiles.DexmlLabelTexts)), "lines", XcDatasetFiles.DexmlTrainLabels, train.Columns, "columns");
        }
        var trainTexts = () => (IReadOnlyList<string>)TextLines.ReadAll(P(XcDatasetFiles.DexmlTrainTexts));
        var testTexts = () => (IReadOnlyList<string>)TextLines.ReadAll(P(XcDatasetFiles.DexmlTestTexts));
        Func<IReadOnlyList<string>> labelTexts = hasLabelTexts
            ? () => TextLines.ReadAll(P(XcDatasetFiles.DexmlLabelTexts))
            : () => NoTexts(train.Columns);
        return new Parts(
            hasLabelTexts,
            train,
            test,
            full,
            ReadFilter(directory, XcDatasetFiles.TrainFilter, train),
            ReadFilter(directory, XcDatasetFiles.TestFilter, test),
            trainTexts,
            testTexts,
            labelTexts,
            labels => RecordsFromTexts(trainTexts(), labels),
            labels => RecordsFromTexts(testTexts(), labels),
            () => RecordsFromTexts(labelTexts(), null));
    }

    private static string[] NoTexts(int count) => Enumerable.Repeat("", count).ToArray();

    private static Parts OpenXc(string directory)
    {
        string P(string name) => Path.Combine(directory, name);
        var trainCorpus = FindCorpus(directory, TrainSplit);
        var testCorpus = FindCorpus(directory, TestSplit);
        var labelCorpus = FindCorpus(directory, LabelSplit);
        var missing = new List<string>();
        if (trainCorpus is null)
        {
            missing.Add(XcDatasetFiles.XcTrainCorpus);
        }
        if (testCorpus is null)
        {
            missing.Add(XcDatasetFiles.XcTestCorpus);
        }
        // Without label texts the label count comes from the matrices' headers.
        var labelsFromMatrices = labelCorpus is null && File.Exists(P(XcDatasetFiles.XcTrainLabels)) && File.Exists(P(XcDatasetFiles.XcTestLabels));
        if (labelCorpus is null && !labelsFromMatrices)
        {
            missing.Add($"{XcDatasetFiles.XcLabelCorpus} (or {XcDatasetFiles.XcTrainLabels} and {XcDatasetFiles.XcTestLabels} to count labels without label texts)");
        }
        if (missing.Count > 0)
        {
            throw new SkimFormatException(directory, null, $"incomplete XC-layout dataset: missing {string.Join(", ", missing)}");
        }
        var numLabels = labelCorpus is null ? XcSparseText.Read(P(XcDatasetFiles.XcTrainLabels)).Columns : XcCorpus.Count(P(labelCorpus));
        var labelSource = labelCorpus ?? XcDatasetFiles.XcTrainLabels;

        // The corpora are parsed now only when a matrix must be built from their target_ind lists.
        List<XcCorpusRecord>? trainRecords = null;
        List<XcCorpusRecord>? testRecords = null;
        var train = ReadXcMatrix(directory, XcDatasetFiles.XcTrainLabels, trainCorpus!, labelSource, numLabels, ref trainRecords);
        var test = ReadXcMatrix(directory, XcDatasetFiles.XcTestLabels, testCorpus!, labelSource, numLabels, ref testRecords);
        CsrMatrix? full = null;
        if (File.Exists(P(XcDatasetFiles.XcFullTrainLabels)))
        {
            full = XcSparseText.Read(P(XcDatasetFiles.XcFullTrainLabels));
            CheckSameShape(directory, XcDatasetFiles.XcFullTrainLabels, full, XcDatasetFiles.XcTrainLabels, train);
        }
        CheckCount(directory, trainCorpus!, trainRecords?.Count ?? XcCorpus.Count(P(trainCorpus!)), "records", XcDatasetFiles.XcTrainLabels, train.Rows, "rows");
        CheckCount(directory, testCorpus!, testRecords?.Count ?? XcCorpus.Count(P(testCorpus!)), "records", XcDatasetFiles.XcTestLabels, test.Rows, "rows");

        var trainRecordsCache = trainRecords;
        var testRecordsCache = testRecords;
        IReadOnlyList<XcCorpusRecord> LoadTrain() => trainRecordsCache ??= XcCorpus.ReadAll(P(trainCorpus!));
        IReadOnlyList<XcCorpusRecord> LoadTest() => testRecordsCache ??= XcCorpus.ReadAll(P(testCorpus!));
        var labelRecords = new Lazy<IReadOnlyList<XcCorpusRecord>>(() => labelCorpus is null
            ? RecordsFromTexts(NoTexts(numLabels), null)
            : XcCorpus.ReadAll(P(labelCorpus)));
        return new Parts(
            labelCorpus is not null,
            train,
            test,
            full,
            ReadFilter(directory, XcDatasetFiles.TrainFilter, train),
            ReadFilter(directory, XcDatasetFiles.TestFilter, test),
            () => Texts(LoadTrain()),
            () => Texts(LoadTest()),
            () => Texts(labelRecords.Value),
            _ => LoadTrain(),
            _ => LoadTest(),
            () => labelRecords.Value);
    }

    private static CsrMatrix ReadXcMatrix(
        string directory, string matrixFile, string corpusFile, string labelCorpus, int numLabels, ref List<XcCorpusRecord>? records)
    {
        var path = Path.Combine(directory, matrixFile);
        if (File.Exists(path))
        {
            var matrix = XcSparseText.Read(path);
            CheckCount(directory, matrixFile, matrix.Columns, "columns", labelCorpus, numLabels, "labels");
            return matrix;
        }
        // Without *_X_Y.txt the labels come from the corpus itself, as the XC repository builds them.
        records = XcCorpus.ReadAll(Path.Combine(directory, corpusFile));
        var builder = new CsrBuilder(numLabels, records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            foreach (var label in record.TargetInd)
            {
                if (label >= numLabels)
                {
                    throw new SkimFormatException(Path.Combine(directory, corpusFile), $"record {i + 1}",
                        $"target_ind holds label {label}, but {labelCorpus} has {numLabels} labels");
                }
            }
            builder.AddRow(record.TargetInd, record.TargetRel);
        }
        // scipy's coo → csr: rows sorted, a label listed twice has its relevances summed.
        return builder.Build().ReduceDuplicates(DuplicateReduction.Sum);
    }

    private static string? FindCorpus(string directory, string split)
    {
        foreach (var extension in (ReadOnlySpan<string>)[".json.gz", ".jsonl.gz", ".jsonl", ".json"])
        {
            var name = split + extension;
            if (File.Exists(Path.Combine(directory, name)))
            {
                return name;
            }
        }
        return null;
    }

    private static FilterPairs ReadFilter(string directory, string name, CsrMatrix matrix)
    {
        var path = Path.Combine(directory, name);
        return File.Exists(path) ? FilterLabelFile.Read(path, matrix.Rows, matrix.Columns) : FilterPairs.Empty;
    }

    private static string[] Texts(IReadOnlyList<XcCorpusRecord> records)
    {
        var texts = new string[records.Count];
        for (var i = 0; i < texts.Length; i++)
        {
            texts[i] = records[i].Text;
        }
        return texts;
    }

    private static XcCorpusRecord[] RecordsFromTexts(IReadOnlyList<string> texts, CsrMatrix? labels)
    {
        var records = new XcCorpusRecord[texts.Count];
        for (var i = 0; i < records.Length; i++)
        {
            var uid = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            records[i] = labels is null
                ? XcCorpusRecord.FromText(uid, texts[i])
                : new XcCorpusRecord(uid, texts[i], "", labels.RowIndices(i).ToArray(), labels.RowValues(i).ToArray());
        }
        return records;
    }

    private static void RequireFiles(string directory, XcDatasetLayout layout, params string[] names)
    {
        var missing = names.Where(name => !File.Exists(Path.Combine(directory, name))).ToList();
        if (missing.Count > 0)
        {
            throw new SkimFormatException(directory, null, $"incomplete {LayoutName(layout)}-layout dataset: missing {string.Join(", ", missing)}");
        }
    }

    private static void CheckCount(string directory, string file, int count, string what, string otherFile, int expected, string otherWhat)
    {
        if (count != expected)
        {
            throw new SkimFormatException(directory, null,
                $"{file} has {count} {Singular(count, what)} but {otherFile} has {expected} {Singular(expected, otherWhat)}");
        }
    }

    private static string Singular(int count, string noun) => count == 1 && noun.EndsWith('s') ? noun[..^1] : noun;

    private static void CheckColumns(string directory, string trainFile, CsrMatrix train, string testFile, CsrMatrix test)
    {
        if (train.Columns != test.Columns)
        {
            throw new SkimFormatException(directory, null,
                $"{testFile} has {test.Columns} columns but {trainFile} has {train.Columns} (one column per label in both)");
        }
    }

    private static void CheckSameShape(string directory, string file, CsrMatrix matrix, string otherFile, CsrMatrix other)
    {
        if (matrix.Rows != other.Rows || matrix.Columns != other.Columns)
        {
            throw new SkimFormatException(directory, null,
                $"{file} is {matrix.Rows}x{matrix.Columns} but {otherFile} is {other.Rows}x{other.Columns}");
        }
    }

    /// <summary>What a layout reader found: the matrices, the filters and how to read the texts later.</summary>
    private sealed record Parts(
        bool HasLabelTexts,
        CsrMatrix Train,
        CsrMatrix Test,
        CsrMatrix? FullTrain,
        FilterPairs TrainFilter,
        FilterPairs TestFilter,
        Func<IReadOnlyList<string>> TrainTexts,
        Func<IReadOnlyList<string>> TestTexts,
        Func<IReadOnlyList<string>> LabelTexts,
        Func<CsrMatrix, IReadOnlyList<XcCorpusRecord>> TrainRecords,
        Func<CsrMatrix, IReadOnlyList<XcCorpusRecord>> TestRecords,
        Func<IReadOnlyList<XcCorpusRecord>> LabelRecords);
}
