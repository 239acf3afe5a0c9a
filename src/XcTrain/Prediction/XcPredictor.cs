using System.Diagnostics;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npz;
using Skim.Core.Formats.XcText;
using Skim.Core.Manifests;
using Skim.Core.Sparse;
using Skim.Models.Encoders;
using Skim.Models.Search;
using Skim.Models.Tokenization;
using Skim.XcTrain.Classifiers;
using Skim.XcTrain.Training;

namespace Skim.XcTrain.Prediction;

/// <summary>What a prediction wrote.</summary>
/// <param name="ScoresPath">The score matrix (scipy CSR .npz).</param>
/// <param name="DatasetDirectory">The dataset scored.</param>
/// <param name="Split">The split scored.</param>
/// <param name="Points">Rows scored.</param>
/// <param name="Labels">Labels.</param>
/// <param name="Method">The method used.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="Tuning">The fusion setting chosen on the validation rows, when <see cref="XcPredictOptions.TuneFusion"/> asked for it.</param>
public sealed record XcPredictResult(string ScoresPath, string DatasetDirectory, string Split, int Points, int Labels, PredictionMethod Method, TimeSpan Elapsed, FusionTuningResult? Tuning = null);

/// <summary>
/// Scores a dataset split with a trained encoder (<c>skim predict</c>): label-embedding retrieval,
/// instance kNN over the training points, or their weighted fusion; or with the run's M-IV classifier,
/// alone or fused with label retrieval (<see cref="ClassifierPrediction"/>); each with exact top-k
/// search in tiles. The top-k labels per point are written as a scipy CSR <c>.npz</c> that
/// <c>skim eval</c> (and pyxclib) read.
/// </summary>
public static class XcPredictor
{
    /// <summary>Predicts and writes the score matrix.</summary>
    /// <exception cref="SkimConfigException">An option is out of range, or the run folder is not a finished training run.</exception>
    public static XcPredictResult Run(XcPredictOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        var manifest = RunManifest.Read(options.RunDirectory);
        if (manifest is null || manifest.Stage != "train" || !manifest.Complete)
        {
            throw new SkimConfigException($"run '{options.RunDirectory}': expected the folder of a finished 'skim train' run (its manifest.json), found none");
        }
        var trained = (JsonObject)manifest.Options;
        var datasetDirectory = options.DatasetDirectory ?? trained["dataset_directory"]?.GetValue<string>()
            ?? throw new SkimFormatException(Path.Combine(options.RunDirectory, RunManifest.FileName), "key 'options.dataset_directory'", "missing");
        var encoderDirectory = Path.Combine(options.RunDirectory, EncoderFolder.RunEncoderFolder);
        var settings = EncoderFolder.ReadSettings(encoderDirectory)
            ?? throw new SkimFormatException(encoderDirectory, null, $"no {EncoderFolder.SettingsFileName}; expected the encoder folder of a skim train run");
        var split = XcDataset.NormalizeSplit(options.Split);
        var dataset = XcDataset.Open(datasetDirectory);
        // Checked before anything is embedded: a missing classifier is bad input, not a late failure.
        var classifier = options.Method is PredictionMethod.Classifier or PredictionMethod.ClassifierFusion
            ? ClassifierFolder.Open(options.ResolvedClassifierDirectory)
            : null;

        using var encoder = TextEncoder.Load(encoderDirectory, new TextEncoderOptions
        {
            Pooling = Pooling.Parse(settings.Pooling, "pooling"),
            Normalize = settings.Normalize,
            Device = options.Device,
        });
        var tokenizer = TokenizerLoader.Load(encoderDirectory);
        float[] Embed(IReadOnlyList<string> texts) =>
            TokenBatches.Embed(encoder, tokenizer.EncodeBatch(texts, new BatchEncodeOptions { MaxLength = settings.MaxLength }), null, options.BatchSize, ct);

        // A run trained with a label table (no label texts) scores labels by its table.
        float[] LabelEmbeddings() =>
            LabelTable.ReadEmbeddings(encoderDirectory, dataset.NumLabels, encoder.Dimension, settings.Normalize) ?? Embed(dataset.LabelTexts);

        var texts = dataset.TextsFor(split);
        var points = EmbeddingRows.FromArray(Embed(texts), texts.Count, encoder.Dimension, $"{split} points");
        var labelCount = dataset.NumLabels;
        var topK = Math.Min(options.TopK, labelCount);
        var device = encoder.Device.ToString();
        if (classifier is not null)
        {
            var classifierScores = ClassifierPrediction.Run(options, classifier, dataset, points, Embed, LabelEmbeddings, topK, device, ct);
            SparseNpz.Save(options.ResolvedOutputPath, classifierScores);
            return new XcPredictResult(options.ResolvedOutputPath, datasetDirectory, split, classifierScores.Rows, labelCount, options.Method, clock.Elapsed);
        }
        var tune = options.TuneFusion && options.Method == PredictionMethod.Fusion;
        var (validationFraction, trainSeed) = (trained["validation_fraction"]?.GetValue<double>() ?? 0, trained["seed"]?.GetValue<long>() ?? 0);
        CsrMatrix? byLabel = null;
        CsrMatrix? byInstance = null;
        EmbeddingRows? labels = null;
        if (options.Method != PredictionMethod.Instance)
        {
            labels = EmbeddingRows.FromArray(LabelEmbeddings(), labelCount, encoder.Dimension, "labels");
            byLabel = EmbeddingKnnClassifier.Predict(points, labels, new EmbeddingKnnOptions { TopK = topK, Device = device }, ct: ct);
        }
        FusionTuningResult? tuning = null;
        var (weight, neighbours) = (options.FusionWeight, options.Neighbours);
        if (options.Method != PredictionMethod.Label)
        {
            var trainMatrix = trained["train_matrix_path"]?.GetValue<string>() is { } path
                ? (path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) ? XcSparseText.Read(path) : SparseNpz.Load(path))
                : dataset.TrainLabels;
            var trainValues = Embed(dataset.TrainTexts);
            if (tune)
            {
                var (trainRows, validationRows) = TrainingData.SplitRows(trainMatrix, validationFraction, trainSeed);
                if (validationRows.Length == 0)
                {
                    throw new SkimConfigException($"tune_fusion: the run in '{options.RunDirectory}' held out no validation rows (validation_fraction {validationFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)}); train with --validation-fraction above 0 or give --fusion-weight and --neighbours");
                }
                tuning = FusionTuning.Tune(trainValues, labels!, trainMatrix, dataset.TrainFilter, trainRows, validationRows, topK, device, options.Seed, ct);
                // Beside the scores: a pipeline's evaluate stage writes only into its own folder.
                FusionTuning.Write(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.ResolvedOutputPath))!, FusionTuning.FileName), tuning);
                (weight, neighbours) = (tuning.Weight, tuning.Neighbours);
            }
            var train = EmbeddingRows.FromArray(trainValues, dataset.TrainTexts.Count, encoder.Dimension, "train points");
            byInstance = InstanceScores(points, train, trainMatrix, neighbours, topK, device, ct);
        }
        var scores = options.Method switch
        {
            PredictionMethod.Label => byLabel!,
            PredictionMethod.Instance => byInstance!,
            _ => Fuse(byLabel!, byInstance!, weight, topK),
        };
        SparseNpz.Save(options.ResolvedOutputPath, scores);
        return new XcPredictResult(options.ResolvedOutputPath, datasetDirectory, split, scores.Rows, labelCount, options.Method, clock.Elapsed, tuning);
    }

    /// <summary>
    /// Instance kNN: each point's <paramref name="neighbours"/> nearest training points vote for
    /// their labels with weight similarity × relevance; the <paramref name="topK"/> best labels are kept.
    /// </summary>
    public static CsrMatrix InstanceScores(EmbeddingRows points, EmbeddingRows train, CsrMatrix trainMatrix, int neighbours, int topK, string device, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(trainMatrix);
        if (trainMatrix.Rows != train.Rows)
        {
            throw new SkimDataException(train.Name, null, $"expected one training point per train matrix row ({trainMatrix.Rows}), found {train.Rows}");
        }
        var knn = ExactKnn.Search(points, train, new ExactKnnOptions { K = (int)Math.Min(neighbours, train.Rows), Device = device }, ct: ct);
        var rows = new Dictionary<int, float>[knn.Rows];
        for (var r = 0; r < knn.Rows; r++)
        {
            var votes = new Dictionary<int, float>();
            var indices = knn.RowIndices(r);
            var similarities = knn.RowScores(r);
            for (var n = 0; n < indices.Length; n++)
            {
                var labels = trainMatrix.RowIndices(indices[n]);
                var values = trainMatrix.RowValues(indices[n]);
                for (var e = 0; e < labels.Length; e++)
                {
                    votes[labels[e]] = votes.GetValueOrDefault(labels[e]) + (similarities[n] * values[e]);
                }
            }
            rows[r] = votes;
        }
        return TopRows(rows, trainMatrix.Columns, topK);
    }

    /// <summary>
    /// <c>weight · a + (1 − weight) · b</c> over the union of each row's entries (a missing entry
    /// counts 0), keeping the <paramref name="topK"/> best; weight 1 gives <paramref name="a"/> exactly (top-k of it).
    /// </summary>
    public static CsrMatrix Fuse(CsrMatrix a, CsrMatrix b, double weight, int topK)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rows != b.Rows || a.Columns != b.Columns)
        {
            throw new SkimDataException(null, null, $"fused score matrices must have one shape, found {a.Rows} x {a.Columns} and {b.Rows} x {b.Columns}");
        }
        var rows = new Dictionary<int, float>[a.Rows];
        for (var r = 0; r < a.Rows; r++)
        {
            var fused = new Dictionary<int, float>();
            Add(fused, a, r, (float)weight);
            Add(fused, b, r, (float)(1 - weight));
            rows[r] = fused;
        }
        return TopRows(rows, a.Columns, topK);
    }

    private static void Add(Dictionary<int, float> into, CsrMatrix matrix, int row, float weight)
    {
        if (weight == 0)
        {
            // A side with no weight adds no entries, so weight 1 reproduces the other side exactly.
            return;
        }
        var labels = matrix.RowIndices(row);
        var values = matrix.RowValues(row);
        for (var e = 0; e < labels.Length; e++)
        {
            into[labels[e]] = into.GetValueOrDefault(labels[e]) + (weight * values[e]);
        }
    }

    // Each row's best entries, score descending then label ascending (the project's tie rule); shared with ScoreFusion.
    internal static CsrMatrix TopRows(Dictionary<int, float>[] rows, int columns, int topK)
    {
        var indices = new int[rows.Length][];
        var values = new float[rows.Length][];
        for (var r = 0; r < rows.Length; r++)
        {
            var best = rows[r].OrderByDescending(e => e.Value).ThenBy(e => e.Key).Take(topK).ToArray();
            indices[r] = [.. best.Select(e => e.Key)];
            values[r] = [.. best.Select(e => e.Value)];
        }
        return CsrMatrix.FromRows(columns, indices, values);
    }
}
