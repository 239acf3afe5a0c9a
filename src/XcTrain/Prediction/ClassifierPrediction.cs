using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Manifests;
using Skim.Core.Metrics;
using Skim.Core.Sparse;
using Skim.Models.Search;
using Skim.XcTrain.Classifiers;
using Skim.XcTrain.Classifiers.Miv;
using Skim.XcTrain.Fusion;

namespace Skim.XcTrain.Prediction;

/// <summary>A finished M-IV classifier folder, as prediction reads it.</summary>
/// <param name="Directory">The folder.</param>
/// <param name="Summary">Its manifest's summary (dataset, train matrix, ...).</param>
/// <param name="Vectors">The (labels × D) row-major classifier vectors.</param>
/// <param name="Labels">Labels.</param>
/// <param name="Dimension">D.</param>
public sealed record ClassifierFolder(string Directory, JsonObject Summary, float[] Vectors, int Labels, int Dimension)
{
    /// <summary>Opens the classifier folder <paramref name="directory"/>.</summary>
    /// <exception cref="SkimConfigException">The folder holds no finished classifier.</exception>
    /// <exception cref="SkimFormatException">Its vectors are not a 2-d float32 array.</exception>
    public static ClassifierFolder Open(string directory)
    {
        var manifest = RunManifest.Read(directory);
        if (manifest is null || manifest.Stage != MivTrainer.StageKind || !manifest.Complete)
        {
            throw new SkimConfigException($"classifier '{directory}': expected the folder of a finished 'skim classifier train' run (its manifest.json), found none");
        }
        var path = Path.Combine(directory, MivTrainer.ClassifierFileName);
        var array = NpyFile.Read(path);
        if (array.Shape is not [var labels, var dimension] || array.DType != NpyDType.Float32)
        {
            throw new SkimFormatException(path, null, $"expected a 2-d float32 (labels, dimension) array, found {array.DType.Descr()} of shape ({string.Join(", ", array.Shape)})");
        }
        return new ClassifierFolder(directory, manifest.Summary ?? [], array.As<float>(), (int)labels, (int)dimension);
    }
}

/// <summary>
/// Prediction with an M-IV classifier: top-k by cosine with the classifier vectors (exact, in tiles),
/// and its fusion with label-embedding retrieval, NGAME's tree (<see cref="ScoreFusion"/>, fitted on a
/// seeded sample of training rows) or a weighted sum.
/// </summary>
/// <remarks>
/// Decisions on NGAME's QUIRKs (xc-reference §2.5): the tree is fitted on the train points the
/// classifier held out (<c>fusion_rows.npy</c>, <see cref="MivOptions.FusionHoldoutFraction"/>), whose
/// classifier scores are as honest as a test point's (NGAME fits on rows the classifier trained on,
/// and on the demo that tree trusted the classifier too much; without held-out rows this falls back to
/// NGAME's way); the rows are filtered with the dataset's <em>train</em> filter pairs (NGAME applies the
/// test filter's mapping to train rows); and the row sample is seeded (NGAME's is not). Targets come from the train matrix the classifier was trained
/// on (SKIM's augmented matrix when it was), any value above 0 counting as relevant.
/// </remarks>
public static class ClassifierPrediction
{
    /// <summary>Scores <paramref name="points"/> with the classifier of <paramref name="options"/>, fused as it asks.</summary>
    /// <param name="options">The prediction options (method, fusion settings, classifier folder).</param>
    /// <param name="classifier">The opened classifier folder.</param>
    /// <param name="dataset">The dataset being scored.</param>
    /// <param name="points">The split's point embeddings (as the encoder gives them).</param>
    /// <param name="embed">Embeds texts with the run's encoder (train rows not cached).</param>
    /// <param name="labelEmbeddings">Gets the run's label embeddings (label texts encoded, or its label table) when the classifier folder has none cached.</param>
    /// <param name="topK">Labels kept per point.</param>
    /// <param name="device">The device for the searches.</param>
    /// <param name="ct">Cancels the work.</param>
    /// <exception cref="SkimDataException">The classifier does not fit the dataset or the encoder.</exception>
    public static CsrMatrix Run(XcPredictOptions options, ClassifierFolder classifier, XcDataset dataset, EmbeddingRows points, Func<IReadOnlyList<string>, float[]> embed, Func<float[]> labelEmbeddings, int topK, string device, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(embed);
        ArgumentNullException.ThrowIfNull(labelEmbeddings);
        var vectorsPath = Path.Combine(classifier.Directory, MivTrainer.ClassifierFileName);
        if (classifier.Labels != dataset.NumLabels)
        {
            throw new SkimDataException(vectorsPath, null, $"the classifier has {classifier.Labels} label vectors but the dataset {dataset.Directory} has {dataset.NumLabels} labels");
        }
        if (classifier.Dimension != points.Dimension)
        {
            throw new SkimDataException(vectorsPath, null, $"the classifier's vectors have {classifier.Dimension} dimensions but the run's encoder gives {points.Dimension}");
        }
        var vectors = EmbeddingRows.FromArray(MivClassifier.NormalizeRows(classifier.Vectors, classifier.Dimension), classifier.Labels, classifier.Dimension, "classifier vectors");
        var classifierScores = ClassifierScores(points, vectors, topK, device, ct);
        if (options.Method == PredictionMethod.Classifier)
        {
            return classifierScores;
        }
        var labels = Cached(classifier.Directory, MivTrainer.LabelEmbeddingsFileName, dataset.NumLabels, points.Dimension)
            ?? labelEmbeddings();
        var labelRows = EmbeddingRows.FromArray(labels, dataset.NumLabels, points.Dimension, "labels");
        var labelScores = EmbeddingKnnClassifier.Predict(points, labelRows, new EmbeddingKnnOptions { TopK = topK, Device = device }, ct: ct);
        if (options.Fusion == FusionKind.Sum)
        {
            return ScoreFusion.WeightedSum(classifierScores, labelScores, options.FusionWeight, topK);
        }

        // NGAME's tree, fitted on a seeded sample of training rows scored the same way.
        var truth = TrainMatrix(classifier, dataset);
        var (a, b) = InversePropensity.DefaultsFor(Path.GetFileName(Path.TrimEndingDirectorySeparator(dataset.Directory)));
        var weights = InversePropensity.Compute(truth, options.PropensityA ?? a, options.PropensityB ?? b);
        var sample = SampleRows(HeldOutRows(classifier, truth.Rows) ?? [.. Enumerable.Range(0, truth.Rows)], options.FusionSampleRows, options.Seed);
        var trainAll = Cached(classifier.Directory, MivTrainer.PointEmbeddingsFileName, dataset.TrainTexts.Count, points.Dimension);
        var trainPoints = trainAll is not null
            ? RowMajor.Gather(trainAll, sample, points.Dimension)
            : embed([.. sample.Select(r => dataset.TrainTexts[r])]);
        var train = EmbeddingRows.FromArray(trainPoints, sample.Length, points.Dimension, "sampled train points");
        var trainClassifier = ClassifierScores(train, vectors, topK, device, ct);
        var trainLabels = EmbeddingKnnClassifier.Predict(train, labelRows, new EmbeddingKnnOptions { TopK = topK, Device = device }, ct: ct);
        var tree = ScoreFusion.Fit(trainClassifier, trainLabels, truth.SliceRows(sample), weights, options.FusionDepth, FilteredPairs(dataset.TrainFilter, sample, truth.Columns), options.FusionMinLeaf);
        return ScoreFusion.Predict(tree, classifierScores, labelScores, weights, options.FusionBeta, topK);
    }

    /// <summary>Top-k labels of each point by cosine with the (normalised) classifier vectors.</summary>
    public static CsrMatrix ClassifierScores(EmbeddingRows points, EmbeddingRows normalizedVectors, int topK, string device, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(normalizedVectors);
        // Cosines, as NGAME's classifier scores: the point side is normalised too.
        var values = new float[points.Rows * points.Dimension];
        points.ReadRows(0, values);
        var normalized = EmbeddingRows.FromArray(MivClassifier.NormalizeRows(values, points.Dimension), (int)points.Rows, points.Dimension, points.Name);
        return EmbeddingKnnClassifier.Predict(normalized, normalizedVectors, new EmbeddingKnnOptions { TopK = topK, Device = device }, ct: ct);
    }

    // The matrix the classifier trained on: its manifest names it, else the dataset's.
    private static CsrMatrix TrainMatrix(ClassifierFolder classifier, XcDataset dataset)
    {
        var path = classifier.Summary["train_matrix_path"]?.GetValue<string>();
        return MivTrainer.ReadTrainMatrix(dataset, path);
    }

    // The train points the classifier held out for the fusion, or null when it held none out (then
    // the tree is fitted on rows it trained on, as NGAME does).
    private static int[]? HeldOutRows(ClassifierFolder classifier, int trainRows)
    {
        var path = Path.Combine(classifier.Directory, MivTrainer.FusionRowsFileName);
        if (!File.Exists(path))
        {
            return null;
        }
        var rows = NpyFile.Read(path);
        if (rows.DType != NpyDType.Int32 || rows.Shape.Length != 1 || rows.As<int>().Any(r => r < 0 || r >= trainRows))
        {
            throw new SkimFormatException(path, null, $"expected a 1-d int32 list of train rows below {trainRows}");
        }
        return rows.Length == 0 ? null : rows.As<int>();
    }

    // Sorted distinct rows, a seeded sample of min(count, rows).
    private static int[] SampleRows(int[] rows, int count, long seed)
    {
        var all = (int[])rows.Clone();
        if (count >= all.Length)
        {
            return all;
        }
        new Random(SeedMix.Of(seed, "fusion-sample")).Shuffle(all);
        var sample = all[..count];
        Array.Sort(sample);
        return sample;
    }

    // The train filter pairs of the sampled rows, keyed by (position in the sample)·L + label.
    private static HashSet<long> FilteredPairs(FilterPairs pairs, int[] sample, int labels)
    {
        var position = new Dictionary<int, int>(sample.Length);
        for (var i = 0; i < sample.Length; i++)
        {
            position[sample[i]] = i;
        }
        var keys = new HashSet<long>();
        for (var k = 0; k < pairs.Count; k++)
        {
            if (position.TryGetValue(pairs.Points[k], out var at))
            {
                keys.Add(((long)at * labels) + pairs.Labels[k]);
            }
        }
        return keys;
    }

    // A cached (rows × D) float32 embedding file of the classifier folder, or null when absent or of another shape.
    private static float[]? Cached(string directory, string name, int rows, int dimension)
    {
        var path = Path.Combine(directory, name);
        if (!File.Exists(path))
        {
            return null;
        }
        var array = NpyFile.Read(path);
        return array.Shape is [var r, var d] && r == rows && d == dimension && array.DType == NpyDType.Float32 ? array.As<float>() : null;
    }

}
