using Skim.Core.Formats.Corpus;
using Skim.Core.Formats.XcText;

namespace Skim.Core.Datasets;

/// <summary>
/// Writes an opened dataset in the other (or the same) layout: texts, label texts, train and test
/// matrices, the complete train matrix when the dataset has one, and the filter files.
/// </summary>
/// <remarks>
/// Everything is written into a temporary folder beside the output, which is renamed into place
/// at the end: a failed conversion leaves no partial dataset. In the XC layout the corpora of an
/// XC source are kept as they are (uid, title, content); texts of a DEXML source become titles with
/// the line number as uid. Line breaks inside texts become spaces in the DEXML layout.
/// </remarks>
public static class XcDatasetConverter
{
    /// <summary>Writes <paramref name="dataset"/> in <paramref name="layout"/> to the new folder <paramref name="outputDirectory"/>.</summary>
    /// <returns>The files written, relative to <paramref name="outputDirectory"/>.</returns>
    /// <exception cref="SkimConfigException">The output folder exists and is not empty, or is the dataset's own folder.</exception>
    public static IReadOnlyList<string> Convert(XcDataset dataset, XcDatasetLayout layout, string outputDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(outputDirectory);
        var target = Path.GetFullPath(outputDirectory);
        if (string.Equals(target.TrimEnd(Path.DirectorySeparatorChar), Path.GetFullPath(dataset.Directory).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
        {
            throw new SkimConfigException($"--out: {outputDirectory} is the dataset's own folder; choose a new folder");
        }
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new SkimConfigException($"--out: {outputDirectory} exists and is not empty; choose a new folder");
        }
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        try
        {
            var written = layout == XcDatasetLayout.Dexml
                ? WriteDexml(dataset, staging, cancellationToken)
                : WriteXc(dataset, staging, cancellationToken);
            if (Directory.Exists(target))
            {
                // Checked empty above; the rename below needs the name free.
                Directory.Delete(target);
            }
            Directory.Move(staging, target);
            return written;
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static List<string> WriteDexml(XcDataset dataset, string directory, CancellationToken cancellationToken)
    {
        var written = new List<string>();
        void Step(string name, Action<string> write)
        {
            cancellationToken.ThrowIfCancellationRequested();
            write(Path.Combine(directory, name));
            written.Add(name);
        }
        Step(XcDatasetFiles.DexmlTrainTexts, path => TextLines.Write(path, dataset.TrainTexts));
        Step(XcDatasetFiles.DexmlTestTexts, path => TextLines.Write(path, dataset.TestTexts));
        Step(XcDatasetFiles.DexmlLabelTexts, path => TextLines.Write(path, dataset.LabelTexts));
        Step(XcDatasetFiles.DexmlTrainLabels, path => DatasetNpz.Save(path, dataset.TrainLabels));
        Step(XcDatasetFiles.DexmlTestLabels, path => DatasetNpz.Save(path, dataset.TestLabels));
        if (dataset.FullTrainLabels is { } full)
        {
            Step(XcDatasetFiles.DexmlFullTrainLabels, path => DatasetNpz.Save(path, full));
        }
        WriteFilters(dataset, Step);
        return written;
    }

    private static List<string> WriteXc(XcDataset dataset, string directory, CancellationToken cancellationToken)
    {
        var written = new List<string>();
        void Step(string name, Action<string> write)
        {
            cancellationToken.ThrowIfCancellationRequested();
            write(Path.Combine(directory, name));
            written.Add(name);
        }
        Step(XcDatasetFiles.XcTrainCorpus, path => XcCorpus.Write(path, dataset.RecordsFor(XcDataset.TrainSplit)));
        Step(XcDatasetFiles.XcTestCorpus, path => XcCorpus.Write(path, dataset.RecordsFor(XcDataset.TestSplit)));
        Step(XcDatasetFiles.XcLabelCorpus, path => XcCorpus.Write(path, dataset.RecordsFor(XcDataset.LabelSplit)));
        Step(XcDatasetFiles.XcTrainLabels, path => XcSparseText.Write(path, dataset.TrainLabels));
        Step(XcDatasetFiles.XcTestLabels, path => XcSparseText.Write(path, dataset.TestLabels));
        if (dataset.FullTrainLabels is { } full)
        {
            Step(XcDatasetFiles.XcFullTrainLabels, path => XcSparseText.Write(path, full));
        }
        WriteFilters(dataset, Step);
        return written;
    }

    private static void WriteFilters(XcDataset dataset, Action<string, Action<string>> step)
    {
        if (dataset.TrainFilter.Count > 0)
        {
            step(XcDatasetFiles.TrainFilter, path => FilterLabelFile.Write(path, dataset.TrainFilter));
        }
        if (dataset.TestFilter.Count > 0)
        {
            step(XcDatasetFiles.TestFilter, path => FilterLabelFile.Write(path, dataset.TestFilter));
        }
    }
}
