using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;
using Skim.MapQueries.Step2;
using Skim.Models.ModelFactory;

namespace Skim.MapQueries.Tests.Step2;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MapQueriesLibTorchCollection
{
    public const string Name = "MapQueries libtorch";
}

/// <summary>
/// One small world shared by the step-2 tests (built once: the tiny encoder costs a second): a
/// DEXML dataset of 24 points over 6 labels whose observed matrix links point i to label i mod 6 and
/// whose complete matrix also links points 0..11 to label (i + 1) mod 6 (the "removed" pairs), a
/// tiny random DistilBERT, and step-1 outputs for both orientations in which the removed pairs are
/// planted as exact copies of texts (so their cosine is 1 whatever the random weights).
/// </summary>
public sealed class Step2TestData : IDisposable
{
    public const int Points = 24;
    public const int Labels = 6;
    public const int Removed = 12;

    private readonly TempDirectory _dir = new();

    public Step2TestData()
    {
        Dataset = SyntheticXcDataset.Write(_dir, train: Points, labels: Labels, test: 4);
        var full = CsrMatrix.FromRows(Labels, [.. Enumerable.Range(0, Points).Select(i => i < Removed ? new[] { i % Labels, (i + 1) % Labels }.Order().ToArray() : [i % Labels])]);
        SparseNpz.Save(Path.Combine(Dataset, XcDatasetFiles.DexmlFullTrainLabels), full);
        TrainTexts = File.ReadAllLines(Path.Combine(Dataset, "raw", "trn_X.txt"));
        LabelTexts = File.ReadAllLines(Path.Combine(Dataset, "raw", "Y.txt"));

        // Query-side: label l's synthetic queries are copies of the train texts the observed matrix lost for l, plus noise.
        QuerySide = WriteGenerations("gen-query", Labels, l =>
            [.. Enumerable.Range(0, Removed).Where(i => (i + 1) % Labels == l).Select(i => TrainTexts[i]), $"zulu noise words {l} yankee"]);

        // Label-side: point i's synthetic categories are copies of the label texts it lost, plus noise.
        LabelSide = WriteGenerations("gen-label", Points, i =>
            i < Removed ? [LabelTexts[(i + 1) % Labels], $"xray noise {i}"] : [$"xray noise {i}"]);

        var corpus = _dir.File("corpus.txt");
        File.WriteAllLines(corpus, [.. TrainTexts, .. LabelTexts, .. Enumerable.Range(0, Points).Select(i => $"zulu noise words {i} yankee xray noise {i}")]);
        Encoder = _dir.File("encoder");
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = "distilbert",
            Preset = "tiny",
            Tokenizer = ModelInitOptions.TrainPrefix + corpus,
            OutputDirectory = Encoder,
            VocabSize = 200,
            Seed = 3,
        });
    }

    public string Dataset { get; }

    public string Encoder { get; }

    public string QuerySide { get; }

    public string LabelSide { get; }

    public string[] TrainTexts { get; }

    public string[] LabelTexts { get; }

    public string TrainMatrix => Path.Combine(Dataset, XcDatasetFiles.DexmlTrainLabels);

    /// <summary>The pairs the planted copies restore: (point i, label (i + 1) mod 6) for i below 12.</summary>
    public static IEnumerable<(int Row, int Label)> PlantedPairs => Enumerable.Range(0, Removed).Select(i => (i, (i + 1) % Labels));

    public Step2Options Options(string output, MappingOrientation orientation = MappingOrientation.QuerySide) => new()
    {
        DatasetDirectory = Dataset,
        GenerationsDirectory = orientation == MappingOrientation.QuerySide ? QuerySide : LabelSide,
        Encoder = Encoder,
        Orientation = orientation,
        OutputDirectory = output,
        Knn = 5,
        TopK = 3,
        BatchSize = 2,
        ChunkRows = 4,
        QueryBlockSize = 3,
        TargetBlockSize = 5,
        Device = "cpu",
    };

    public string NewFolder(string name)
    {
        var path = _dir.File(name + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose() => _dir.Dispose();

    private string WriteGenerations(string name, int items, Func<int, string[]> texts)
    {
        var folder = _dir.File(name);
        Directory.CreateDirectory(folder);
        var lines = new List<string>();
        var start = new List<long> { 0 };
        for (var item = 0; item < items; item++)
        {
            lines.AddRange(texts(item));
            start.Add(lines.Count);
        }
        File.WriteAllLines(Path.Combine(folder, Step2Stage.RewritesFileName), lines);
        NpyFile.Write(Path.Combine(folder, "start_indices.npy"), NpyArray.Create(start.ToArray(), start.Count));
        return folder;
    }
}

/// <summary>Calls straight through, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
