using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Skim.Core.Formats.XcText;
using Skim.Core.IO;
using Skim.Core.Sparse;

namespace Skim.Core.Datasets;

/// <summary>How <see cref="MissingLabelSimulation"/> drops train pairs.</summary>
public sealed record MissingLabelSimulationOptions
{
    /// <summary>Gets the drop probability of the most frequent label (percentile 1). Defaults to 0.2 (the demo dataset's).</summary>
    public double Rate { get; init; } = 0.2;

    /// <summary>
    /// Gets the extra drop probability of the rarest label (percentile 0): a pair of a label at
    /// percentile p is dropped with probability <c>Rate + TailBias · (1 − p)</c>. Defaults to 0.5 (the demo dataset's).
    /// </summary>
    public double TailBias { get; init; } = 0.5;

    /// <summary>Gets the seed; the fate of each (point, label) pair depends on it and on the pair alone. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the option when a probability would leave [0, 1].</summary>
    public void Validate()
    {
        if (!(Rate >= 0 && Rate <= 1))
        {
            throw new SkimConfigException($"--rate: expected a probability in [0, 1], found {Rate.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!(TailBias >= 0 && Rate + TailBias <= 1))
        {
            throw new SkimConfigException(
                $"--tail-bias: expected a number in [0, 1 - rate] = [0, {(1 - Rate).ToString(CultureInfo.InvariantCulture)}] so that rate + tail-bias stays a probability, found {TailBias.ToString(CultureInfo.InvariantCulture)}");
        }
    }
}

/// <summary>What <see cref="MissingLabelSimulation.Run"/> wrote.</summary>
/// <param name="OutputDirectory">The new dataset folder.</param>
/// <param name="Layout">Its layout (that of the source).</param>
/// <param name="TrainPoints">Rows of the train matrix.</param>
/// <param name="Labels">Labels.</param>
/// <param name="FullPairs">Train pairs before dropping (the source's train matrix, kept as the full matrix).</param>
/// <param name="KeptPairs">Train pairs of the new observed train matrix.</param>
/// <param name="DroppedPairs">Train pairs dropped.</param>
/// <param name="PointsLeftWithoutLabels">Train points with labels in the full matrix and none left.</param>
/// <param name="Files">The files written, relative to the folder.</param>
public sealed record MissingLabelSimulationResult(
    string OutputDirectory,
    XcDatasetLayout Layout,
    int TrainPoints,
    int Labels,
    long FullPairs,
    long KeptPairs,
    long DroppedPairs,
    int PointsLeftWithoutLabels,
    IReadOnlyList<string> Files);

/// <summary>
/// Simulates missing labels the way the demo dataset was built: every train pair (i, l) is dropped
/// with probability <c>rate + tail_bias · (1 − p_l)</c>, where <c>p_l</c> is the percentile of label
/// l's train frequency among all labels (mid-rank for ties, so the probability depends on the
/// frequency alone). Tail labels lose more pairs than head labels, as in real click and tagging logs.
/// </summary>
/// <remarks>
/// The draw of each pair is a hash of (seed, point, label), so it does not depend on the order in
/// which pairs are visited and one pair's fate never shifts another's. The source's train matrix
/// becomes the new dataset's full train matrix (<c>trn_X_Y_full.txt</c> or <c>Y.trn.full.npz</c>);
/// texts, corpora, the test matrix and the filter files are copied byte for byte.
/// </remarks>
public static class MissingLabelSimulation
{
    /// <summary>The provenance file written into the new folder.</summary>
    public const string ProvenanceFile = "simulation.json";

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // The file is for people too: keep "+" and "'" readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>
    /// Gets the percentile of each label's frequency (column count) in <paramref name="train"/>:
    /// labels sorted by frequency ascending, a frequency shared by positions a..b gets
    /// <c>(a + b) / 2 / (L − 1)</c>; the rarest label has 0, the most frequent 1.
    /// </summary>
    public static double[] FrequencyPercentiles(CsrMatrix train)
    {
        ArgumentNullException.ThrowIfNull(train);
        var counts = train.ColumnCounts();
        var sorted = (int[])counts.Clone();
        Array.Sort(sorted);
        var first = new Dictionary<int, int>();
        var last = new Dictionary<int, int>();
        for (var position = 0; position < sorted.Length; position++)
        {
            first.TryAdd(sorted[position], position);
            last[sorted[position]] = position;
        }
        var denominator = (double)Math.Max(counts.Length - 1, 1);
        var percentiles = new double[counts.Length];
        for (var l = 0; l < counts.Length; l++)
        {
            percentiles[l] = (first[counts[l]] + last[counts[l]]) / 2.0 / denominator;
        }
        return percentiles;
    }

    /// <summary>Gets each label's drop probability, <c>rate + tail_bias · (1 − p_l)</c>.</summary>
    public static double[] DropProbabilities(CsrMatrix train, MissingLabelSimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var percentiles = FrequencyPercentiles(train);
        var drop = new double[percentiles.Length];
        for (var l = 0; l < drop.Length; l++)
        {
            drop[l] = options.Rate + (options.TailBias * (1 - percentiles[l]));
        }
        return drop;
    }

    /// <summary>Returns <paramref name="train"/> without the dropped pairs (kept pairs keep their values).</summary>
    /// <exception cref="SkimConfigException">An option is out of range.</exception>
    public static CsrMatrix Drop(CsrMatrix train, MissingLabelSimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(train);
        var drop = DropProbabilities(train, options);
        var builder = new CsrBuilder(train.Columns, train.Rows, train.NonZeros);
        var keptLabels = new List<int>();
        var keptValues = new List<float>();
        for (var row = 0; row < train.Rows; row++)
        {
            keptLabels.Clear();
            keptValues.Clear();
            var labels = train.RowIndices(row);
            var values = train.RowValues(row);
            for (var e = 0; e < labels.Length; e++)
            {
                if (Uniform(options.Seed, row, labels[e]) >= drop[labels[e]])
                {
                    keptLabels.Add(labels[e]);
                    keptValues.Add(values[e]);
                }
            }
            builder.AddRow(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(keptLabels), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(keptValues));
        }
        return builder.Build();
    }

    /// <summary>
    /// Writes a copy of the dataset in <paramref name="datasetDirectory"/> to the new folder
    /// <paramref name="outputDirectory"/> (same layout) whose train matrix lost pairs as
    /// <see cref="Drop"/> decides, with the source's train matrix kept beside it as the full matrix
    /// and a <c>simulation.json</c> saying how. Everything is written into a temporary folder that is
    /// renamed into place at the end, so a failure leaves no partial dataset.
    /// </summary>
    /// <exception cref="SkimConfigException">An option is out of range, or the output folder exists and is not empty.</exception>
    /// <exception cref="SkimFormatException">The source dataset is malformed.</exception>
    public static MissingLabelSimulationResult Run(
        string datasetDirectory, string outputDirectory, MissingLabelSimulationOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(datasetDirectory);
        ArgumentNullException.ThrowIfNull(outputDirectory);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var target = Path.GetFullPath(outputDirectory);
        if (string.Equals(Path.TrimEndingDirectorySeparator(target), Path.TrimEndingDirectorySeparator(Path.GetFullPath(datasetDirectory)), StringComparison.Ordinal))
        {
            throw new SkimConfigException($"--out: {outputDirectory} is the dataset's own folder; choose a new folder");
        }
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new SkimConfigException($"--out: {outputDirectory} exists and is not empty; choose a new folder");
        }
        var dataset = XcDataset.Open(datasetDirectory);
        ct.ThrowIfCancellationRequested();
        var full = dataset.TrainLabels;
        var observed = Drop(full, options);
        ct.ThrowIfCancellationRequested();

        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        try
        {
            var written = new List<string>();
            foreach (var name in CopiedFiles(dataset))
            {
                ct.ThrowIfCancellationRequested();
                var destination = Path.Combine(staging, name);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                File.Copy(Path.Combine(datasetDirectory, name), destination);
                written.Add(name);
            }
            if (dataset.Layout == XcDatasetLayout.Dexml)
            {
                DatasetNpz.Save(Path.Combine(staging, XcDatasetFiles.DexmlTrainLabels), observed);
                DatasetNpz.Save(Path.Combine(staging, XcDatasetFiles.DexmlFullTrainLabels), full);
                written.Add(XcDatasetFiles.DexmlTrainLabels);
                written.Add(XcDatasetFiles.DexmlFullTrainLabels);
            }
            else
            {
                XcSparseText.Write(Path.Combine(staging, XcDatasetFiles.XcTrainLabels), observed);
                XcSparseText.Write(Path.Combine(staging, XcDatasetFiles.XcFullTrainLabels), full);
                written.Add(XcDatasetFiles.XcTrainLabels);
                written.Add(XcDatasetFiles.XcFullTrainLabels);
            }

            var emptied = 0;
            for (var row = 0; row < full.Rows; row++)
            {
                if (full.RowLength(row) > 0 && observed.RowLength(row) == 0)
                {
                    emptied++;
                }
            }
            var result = new MissingLabelSimulationResult(
                target, dataset.Layout, full.Rows, full.Columns, full.NonZeros, observed.NonZeros, full.NonZeros - observed.NonZeros, emptied, written);
            var provenance = new
            {
                Source = Path.GetFullPath(datasetDirectory),
                Rule = "drop (point, label) with probability rate + tail_bias * (1 - p), p = percentile of the label's train frequency (mid-rank for ties)",
                options.Rate,
                options.TailBias,
                options.Seed,
                result.TrainPoints,
                result.Labels,
                result.FullPairs,
                result.KeptPairs,
                result.DroppedPairs,
                result.PointsLeftWithoutLabels,
            };
            AtomicFile.WriteAllText(Path.Combine(staging, ProvenanceFile), JsonSerializer.Serialize(provenance, s_json) + "\n");
            written.Add(ProvenanceFile);

            if (Directory.Exists(target))
            {
                // Checked empty above; the rename below needs the name free.
                Directory.Delete(target);
            }
            Directory.Move(staging, target);
            return result;
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>The source files the new folder holds unchanged: texts or corpora, the test matrix, the filters.</summary>
    private static IEnumerable<string> CopiedFiles(XcDataset dataset)
    {
        IEnumerable<string> candidates = dataset.Layout == XcDatasetLayout.Dexml
            ? [XcDatasetFiles.DexmlTrainTexts, XcDatasetFiles.DexmlTestTexts, XcDatasetFiles.DexmlLabelTexts, XcDatasetFiles.DexmlTestLabels]
            : [
                .. CorpusNames(XcDataset.TrainSplit),
                .. CorpusNames(XcDataset.TestSplit),
                .. CorpusNames(XcDataset.LabelSplit),
                XcDatasetFiles.XcTestLabels,
            ];
        return candidates
            .Append(XcDatasetFiles.TrainFilter)
            .Append(XcDatasetFiles.TestFilter)
            .Where(name => File.Exists(Path.Combine(dataset.Directory, name)));
    }

    private static IEnumerable<string> CorpusNames(string split) =>
        [split + ".json.gz", split + ".jsonl.gz", split + ".jsonl", split + ".json"];

    /// <summary>A uniform draw in [0, 1) from (seed, row, label) alone (SplitMix64 finaliser over the three).</summary>
    internal static double Uniform(long seed, int row, int label)
    {
        var x = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL);
        x = Mix(x ^ (uint)row);
        x = Mix(x ^ ((ulong)(uint)label << 32) ^ 0xD1B54A32D192ED03UL);
        // The top 53 bits give a double with every representable step of [0, 1).
        return (x >> 11) * (1.0 / (1UL << 53));
    }

    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
