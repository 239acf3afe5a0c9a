using System.Diagnostics;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.Formats.Npz;
using Skim.Core.Formats.XcText;
using Skim.Core.Manifests;
using Skim.Core.Sparse;
using Skim.Core.Stages;
using Skim.Models.Encoders;
using Skim.Models.Search;
using Skim.Models.Tokenization;
using Skim.XcTrain.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.XcTrain.Classifiers.Miv;

/// <summary>Frozen encoder embeddings an M-IV classifier trains on (row-major float32).</summary>
/// <param name="Points">(train points × D) embeddings of every train text, in train-matrix row order.</param>
/// <param name="Labels">(labels × D) embeddings of the label texts.</param>
/// <param name="Dimension">D.</param>
public sealed record MivEmbeddings(float[] Points, float[] Labels, int Dimension)
{
    /// <summary>Gets the number of train points.</summary>
    public int PointRows => (int)(Points.LongLength / Dimension);

    /// <summary>Gets the number of labels.</summary>
    public int LabelRows => (int)(Labels.LongLength / Dimension);
}

/// <summary>What an M-IV run produced.</summary>
/// <param name="OutputDirectory">The classifier folder.</param>
/// <param name="ClassifierPath">The (labels × D) float32 vectors, <c>classifier.npy</c>.</param>
/// <param name="Records">One record per epoch (resumed epochs included).</param>
/// <param name="TrainRows">Train points trained on (those with a positive).</param>
/// <param name="Labels">Labels.</param>
/// <param name="Dimension">Vector size.</param>
/// <param name="ResumedFromEpoch">The epoch the run continued after (0 for a fresh run).</param>
/// <param name="LargestLabelSet">The largest batch label set |U| seen (the rows one step touches).</param>
/// <param name="Elapsed">Wall time of this invocation.</param>
public sealed record MivResult(string OutputDirectory, string ClassifierPath, IReadOnlyList<MivEpochRecord> Records, int TrainRows, int Labels, int Dimension, int ResumedFromEpoch, int LargestLabelSet, TimeSpan Elapsed);

/// <summary>
/// Trains NGAME's M-IV extreme classifier over the frozen encoder of a <c>skim train</c> run
/// (xc-reference §4.5): the train point and label embeddings are computed once (cached as .npy in
/// the output folder), each label's vector starts as its normalised label embedding, and every batch
/// trains on the union U of its points' positives and shortlisted hard labels, with dropout on the
/// point embeddings, NGAME's multi-positive hinge loss, and a sparse Adam update of the rows of U.
/// </summary>
/// <remarks>
/// <para>Shortlist: before epoch 1 and then every <see cref="MivOptions.ShortlistRefreshInterval"/>
/// epochs, each train point's top-k labels by exact inner product with the current (normalised)
/// classifier vectors (<see cref="ExactKnn"/>, in tiles). Decision: NGAME gets its hard negatives
/// implicitly from clustered batches; an explicit shortlist gives every point its own hard labels from
/// the first step and keeps the batch label set bounded by B·(k + positives), which is what lets a
/// million labels train without a dense points × labels score matrix. Batches are plain seeded
/// shuffles.</para>
/// <para>Decision on NGAME's |U| == B quirk: positives always come from the targets (see
/// <see cref="Losses.TripletLosses.OnlineHardNegativeMiningMulti"/>).</para>
/// </remarks>
public static class MivTrainer
{
    /// <summary>The classifier vectors' file name.</summary>
    public const string ClassifierFileName = "classifier.npy";

    /// <summary>The cached train point embeddings' file name.</summary>
    public const string PointEmbeddingsFileName = "trn_embeddings.npy";

    /// <summary>The cached label embeddings' file name.</summary>
    public const string LabelEmbeddingsFileName = "lbl_embeddings.npy";

    /// <summary>The file listing the held-out train points (int32, ascending) that prediction fits the fusion tree on.</summary>
    public const string FusionRowsFileName = "fusion_rows.npy";

    /// <summary>The training log's file name.</summary>
    public const string LogFileName = "train_log.csv";

    /// <summary>The stage kind written in the manifest.</summary>
    public const string StageKind = "classifier";

    /// <summary>Trains the classifier of <paramref name="options"/> and writes its folder (vectors, log, manifest).</summary>
    /// <exception cref="SkimConfigException">An option is out of range, the run folder is not a finished training run, or the output folder holds another run.</exception>
    /// <exception cref="SkimFormatException">The run's encoder folder is missing or incomplete.</exception>
    /// <exception cref="SkimDataException">The train matrix does not fit the dataset.</exception>
    public static Task<MivResult> RunAsync(MivOptions options, IProgress<StageProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // libtorch work is synchronous; the caller's thread stays free to render progress.
        return Task.Run(() => Run(options, progress, ct), ct);
    }

    /// <summary>The run folder's encoder, dataset and train matrix, as an M-IV run resolves them.</summary>
    /// <param name="EncoderDirectory">The run's <c>encoder/</c>.</param>
    /// <param name="Settings">How the encoder embeds.</param>
    /// <param name="DatasetDirectory">The dataset in use.</param>
    /// <param name="TrainMatrixPath">The train matrix file in use, or null for the dataset's own.</param>
    public sealed record ResolvedRun(string EncoderDirectory, EncoderSettings Settings, string DatasetDirectory, string? TrainMatrixPath);

    /// <summary>Reads a <c>skim train</c> run folder: its manifest, encoder settings, dataset and train matrix.</summary>
    /// <exception cref="SkimConfigException">The folder is not a finished training run.</exception>
    /// <exception cref="SkimFormatException">The run has no usable encoder folder.</exception>
    public static ResolvedRun ResolveRun(string runDirectory, string? datasetDirectory, string? trainMatrixPath)
    {
        var manifest = RunManifest.Read(runDirectory);
        if (manifest is null || manifest.Stage != "train" || !manifest.Complete)
        {
            throw new SkimConfigException($"run '{runDirectory}': expected the folder of a finished 'skim train' run (its manifest.json), found none");
        }
        var trained = manifest.Options as JsonObject;
        var encoderDirectory = Path.Combine(runDirectory, EncoderFolder.RunEncoderFolder);
        if (!Directory.Exists(encoderDirectory))
        {
            throw new SkimFormatException(encoderDirectory, null, "no encoder folder; expected the trained encoder that skim train writes into its run folder");
        }
        var settings = EncoderFolder.ReadSettings(encoderDirectory)
            ?? throw new SkimFormatException(encoderDirectory, null, $"no {EncoderFolder.SettingsFileName}; expected the encoder folder of a skim train run");
        var dataset = datasetDirectory ?? trained?["dataset_directory"]?.GetValue<string>()
            ?? throw new SkimFormatException(Path.Combine(runDirectory, RunManifest.FileName), "key 'options.dataset_directory'", "missing");
        var matrix = trainMatrixPath ?? trained?["train_matrix_path"]?.GetValue<string>();
        return new ResolvedRun(encoderDirectory, settings, dataset, matrix);
    }

    /// <summary>Reads a train matrix file (.npz or XC text) and checks it has one row per train text and one column per label.</summary>
    /// <exception cref="SkimFormatException">The file is missing.</exception>
    /// <exception cref="SkimDataException">Its shape does not fit the dataset.</exception>
    public static CsrMatrix ReadTrainMatrix(XcDataset dataset, string? path)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (path is null)
        {
            return dataset.TrainLabels;
        }
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "no such train matrix file");
        }
        var matrix = path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) ? XcSparseText.Read(path) : SparseNpz.Load(path);
        if (matrix.Rows != dataset.TrainTexts.Count || matrix.Columns != dataset.LabelTexts.Count)
        {
            throw new SkimDataException(path, null, $"train matrix is {matrix.Rows} x {matrix.Columns}, expected {dataset.TrainTexts.Count} x {dataset.LabelTexts.Count} (train texts x labels of {dataset.Directory})");
        }
        return matrix;
    }

    private static MivResult Run(MivOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        var run = ResolveRun(options.RunDirectory, options.DatasetDirectory, options.TrainMatrixPath);
        var dataset = XcDataset.Open(run.DatasetDirectory);
        var matrix = ReadTrainMatrix(dataset, run.TrainMatrixPath);
        var output = Path.GetFullPath(options.ResolvedOutputDirectory);
        // Refused before the (expensive) embedding: a folder holding another run stays as it is.
        PrepareOutput(output, options.Resume);
        var manifestOptions = options with { Resume = false };
        StageManifests.WriteStarted(StageKind, manifestOptions, options.Seed, options.InputPaths(), output);
        var embeddings = EmbedOrLoad(options, run, dataset, output, progress, ct);
        var result = Train(embeddings, matrix, options, progress, ct);
        var summary = new JsonObject
        {
            ["dataset_directory"] = Path.GetFullPath(run.DatasetDirectory),
            ["train_matrix_path"] = run.TrainMatrixPath is null ? null : Path.GetFullPath(run.TrainMatrixPath),
            ["labels"] = result.Labels,
            ["dimension"] = result.Dimension,
            ["train_rows"] = result.TrainRows,
            ["epochs"] = result.Records.Count,
            ["resumed_from_epoch"] = result.ResumedFromEpoch,
            ["final_loss"] = result.Records.Count > 0 && double.IsFinite(result.Records[^1].Loss) ? result.Records[^1].Loss : null,
            ["shortlist_recall"] = result.Records.Count > 0 ? result.Records[^1].ShortlistRecall : null,
        };
        StageManifests.WriteComplete(StageKind, manifestOptions, options.Seed, options.InputPaths(), output,
            [result.ClassifierPath, Path.Combine(output, LogFileName)], summary, started);
        return result;
    }

    // A folder holding a checkpoint continues only with --resume; one holding a finished classifier is refused.
    private static void PrepareOutput(string output, bool resume)
    {
        if (!Directory.Exists(output))
        {
            return;
        }
        if (RunManifest.Read(output) is { Complete: true })
        {
            throw new SkimConfigException($"out '{output}': the folder holds a finished classifier; choose another --out");
        }
        var checkpoint = MivCheckpoint.Find(output);
        if (checkpoint is not null && !resume)
        {
            throw new SkimConfigException($"out '{output}': the folder holds a classifier run (checkpoint after epoch {MivCheckpoint.ReadState(checkpoint).CompletedEpochs}); pass --resume to continue it or choose another --out");
        }
    }

    // The frozen embeddings, computed once: a resumed run finds them in the output folder.
    private static MivEmbeddings EmbedOrLoad(MivOptions options, ResolvedRun run, XcDataset dataset, string output, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var pointsPath = Path.Combine(output, PointEmbeddingsFileName);
        var labelsPath = Path.Combine(output, LabelEmbeddingsFileName);
        var (points, labels) = (dataset.TrainTexts.Count, dataset.LabelTexts.Count);
        if (File.Exists(pointsPath) && File.Exists(labelsPath))
        {
            var p = NpyFile.Read(pointsPath);
            var l = NpyFile.Read(labelsPath);
            if (p.Shape is [var pr, var pd] && l.Shape is [var lr, var ld] && pr == points && lr == labels && pd == ld && p.DType == NpyDType.Float32 && l.DType == NpyDType.Float32)
            {
                return new MivEmbeddings(p.As<float>(), l.As<float>(), (int)pd);
            }
        }
        using var encoder = TextEncoder.Load(run.EncoderDirectory, new TextEncoderOptions
        {
            Pooling = Pooling.Parse(run.Settings.Pooling, "pooling"),
            Normalize = run.Settings.Normalize,
            Device = options.Device,
        });
        var tokenizer = TokenizerLoader.Load(run.EncoderDirectory);
        float[] Embed(IReadOnlyList<string> texts, string what)
        {
            progress?.Report(new StageProgress($"embed {what}", 0, texts.Count, "rows"));
            var values = TokenBatches.Embed(encoder, tokenizer.EncodeBatch(texts, new BatchEncodeOptions { MaxLength = run.Settings.MaxLength }), null, options.EmbedBatchSize, ct);
            progress?.Report(new StageProgress($"embed {what}", texts.Count, texts.Count, "rows"));
            return values;
        }
        var pointValues = Embed(dataset.TrainTexts, "train points");
        // A run trained with a label table (no label texts) starts its classifier from the table.
        var labelValues = LabelTable.ReadEmbeddings(run.EncoderDirectory, labels, encoder.Dimension, run.Settings.Normalize) ?? Embed(dataset.LabelTexts, "labels");
        Directory.CreateDirectory(output);
        NpyFile.Write(pointsPath, NpyArray.Create(pointValues, points, encoder.Dimension));
        NpyFile.Write(labelsPath, NpyArray.Create(labelValues, labels, encoder.Dimension));
        return new MivEmbeddings(pointValues, labelValues, encoder.Dimension);
    }

    /// <summary>
    /// Trains on precomputed embeddings into <see cref="MivOptions.ResolvedOutputDirectory"/>
    /// (<c>classifier.npy</c>, <c>train_log.csv</c>, <c>checkpoint/</c>; no manifest): the encoder-free
    /// core of <see cref="RunAsync"/>, which tests and benchmarks call directly. The run and dataset
    /// options are not read.
    /// </summary>
    /// <exception cref="SkimDataException">The matrix and the embeddings disagree, or no row has a positive.</exception>
    /// <exception cref="SkimConfigException">The output folder holds a checkpoint and <see cref="MivOptions.Resume"/> is off, or one made with other options.</exception>
    public static MivResult Train(MivEmbeddings embeddings, CsrMatrix trainMatrix, MivOptions options, IProgress<StageProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(trainMatrix);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        if (trainMatrix.Rows != embeddings.PointRows || trainMatrix.Columns != embeddings.LabelRows)
        {
            throw new SkimDataException(options.TrainMatrixPath, null, $"train matrix is {trainMatrix.Rows} x {trainMatrix.Columns}, expected {embeddings.PointRows} x {embeddings.LabelRows} (train points x labels embedded)");
        }
        var output = Path.GetFullPath(options.ResolvedOutputDirectory);
        PrepareOutput(output, options.Resume);
        Directory.CreateDirectory(output);
        var dimension = embeddings.Dimension;
        var labels = embeddings.LabelRows;
        var positives = Positives(trainMatrix);
        var labelled = Enumerable.Range(0, trainMatrix.Rows).Where(r => positives[r].Length > 0).ToArray();
        if (labelled.Length == 0)
        {
            throw new SkimDataException(options.TrainMatrixPath, null, $"no train point has a positive label ({trainMatrix.Rows} rows, {trainMatrix.NonZeros} stored values); nothing to train on");
        }
        var (trainRows, heldOut) = HoldOut(labelled, options.FusionHoldoutFraction, options.Seed);
        var width = Math.Min(options.ShortlistSize, labels);
        var device = Skim.Models.Devices.TorchDevices.ParseDevice(options.Device);
        var trainPoints = MivClassifier.NormalizeRows(Gather(embeddings.Points, trainRows, dimension), dimension);
        using var pointTensor = tensor(trainPoints, [trainRows.Length, dimension], ScalarType.Float32).to(device).DetachFromDisposeScope(); // (N', D)
        using var classifier = MivClassifier.FromLabelEmbeddings(embeddings.Labels, labels, dimension, options.Device);

        var optionsNode = (JsonObject)RunManifest.OptionsNode(ShapingOptions(options));
        var records = new List<MivEpochRecord>();
        var firstEpoch = 0;
        int[]? shortlist = null;
        if (MivCheckpoint.Find(output) is { } checkpoint)
        {
            var state = MivCheckpoint.ReadState(checkpoint);
            CheckSameOptions(checkpoint, state.Options, optionsNode);
            shortlist = MivCheckpoint.Restore(checkpoint, classifier, state.Steps, width);
            firstEpoch = state.CompletedEpochs;
            records.AddRange(state.Records);
        }

        var batches = (trainRows.Length + options.BatchSize - 1) / options.BatchSize;
        var schedule = LinearSchedule.Create((long)batches * options.Epochs, options.WarmupFraction);
        var settings = new MivStepSettings(options.Margin, options.LossPositives, options.LossNegatives);
        var largest = 0;
        var recall = records.Count > 0 ? records[^1].ShortlistRecall : double.NaN;
        for (var epoch = firstEpoch; epoch < options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            if (shortlist is null || epoch % options.ShortlistRefreshInterval == 0)
            {
                progress?.Report(new StageProgress($"shortlist epoch {epoch + 1}", 0, trainRows.Length, "rows"));
                shortlist = Shortlist(trainPoints, trainRows.Length, classifier, width, options.Device, ct);
                recall = ShortlistRecall(shortlist, width, trainRows, positives);
            }
            var order = (int[])Enumerable.Range(0, trainRows.Length).ToArray();
            new Random(SeedMix.Of(options.Seed, "miv-order", epoch)).Shuffle(order);
            double lossSum = 0;
            var learningRate = 0.0;
            for (var batch = 0; batch < batches; batch++)
            {
                ct.ThrowIfCancellationRequested();
                var members = order.AsSpan(batch * options.BatchSize, Math.Min(options.BatchSize, order.Length - (batch * options.BatchSize))).ToArray();
                var (labelSet, targets) = BatchLabels(members, trainRows, shortlist, width, positives);
                largest = Math.Max(largest, labelSet.Length);
                learningRate = options.LearningRate * schedule.Factor(classifier.Steps);
                using var scope = NewDisposeScope();
                // Dropout masks depend only on the run seed and the batch's position.
                random.manual_seed(SeedMix.Torch(options.Seed, "miv-dropout", epoch, batch));
                var rows = pointTensor.index_select(0, tensor(members.Select(m => (long)m).ToArray(), device: device)); // (B, D)
                var dropped = nn.functional.dropout(rows, options.Dropout, training: true); // (B, D)
                var target = tensor(targets, [members.Length, labelSet.Length], ScalarType.Float32).to(device); // (B, U)
                var loss = classifier.Step(dropped, labelSet, target, learningRate, settings);
                if (!double.IsFinite(loss))
                {
                    throw new SkimDataException(options.TrainMatrixPath, $"epoch {epoch + 1}, batch {batch + 1}", $"the loss is {loss}; lower --lr or check the embeddings");
                }
                lossSum += loss;
                progress?.Report(new StageProgress($"classifier epoch {epoch + 1}/{options.Epochs}", batch + 1, batches, "batches", $"loss {lossSum / (batch + 1):F4}"));
            }
            var seconds = epochClock.Elapsed.TotalSeconds;
            records.Add(new MivEpochRecord(epoch + 1, classifier.Steps, learningRate, lossSum / batches, recall, trainRows.Length / Math.Max(seconds, 1e-9), seconds));
            MivCheckpoint.Save(output, classifier, shortlist, width, new MivState(epoch + 1, classifier.Steps, [.. records], optionsNode));
            MivCheckpoint.WriteLog(Path.Combine(output, LogFileName), records);
            // Mining and checkpointing copy the (labels × D) state several times per epoch (0.3 GB each at
            // 100K × 768); those large-object-heap arrays are garbage at once, but without a full
            // collection they pile up until the GC's budget is reached (7 GB resident at 100K labels).
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        var classifierPath = Path.Combine(output, ClassifierFileName);
        NpyFile.Write(Path.Combine(output, FusionRowsFileName), NpyArray.Create(heldOut));
        NpyFile.Write(classifierPath, NpyArray.Create(classifier.WeightsArray(), labels, dimension));
        MivCheckpoint.WriteLog(Path.Combine(output, LogFileName), records);
        return new MivResult(output, classifierPath, records, trainRows.Length, labels, dimension, firstEpoch, largest, clock.Elapsed);
    }

    /// <summary>
    /// The top-<paramref name="width"/> labels of each (normalised) point by inner product with the
    /// normalised classifier vectors, exact and in tiles; row-major (points × width).
    /// </summary>
    public static int[] Shortlist(float[] points, int rows, MivClassifier classifier, int width, string device, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(classifier);
        var vectors = classifier.WeightsArray();
        MivClassifier.NormalizeRowsInPlace(vectors, classifier.Dimension);
        var knn = ExactKnn.Search(
            EmbeddingRows.FromArray(points, rows, classifier.Dimension, "train points"),
            EmbeddingRows.FromArray(vectors, classifier.Labels, classifier.Dimension, "classifier vectors"),
            new ExactKnnOptions { K = width, Device = device },
            ct: ct);
        return knn.Indices;
    }

    /// <summary>
    /// A batch's label set U (ascending: the union of the members' shortlists and positives) and its
    /// (B × |U|) row-major 0/1 targets.
    /// </summary>
    internal static (long[] LabelSet, float[] Targets) BatchLabels(int[] members, int[] trainRows, int[] shortlist, int width, int[][] positives)
    {
        var set = new SortedSet<int>();
        foreach (var m in members)
        {
            foreach (var l in shortlist.AsSpan(m * width, width))
            {
                set.Add(l);
            }
            foreach (var l in positives[trainRows[m]])
            {
                set.Add(l);
            }
        }
        var labelSet = set.Select(l => (long)l).ToArray();
        var column = new Dictionary<int, int>(labelSet.Length);
        for (var c = 0; c < labelSet.Length; c++)
        {
            column[(int)labelSet[c]] = c;
        }
        var targets = new float[members.Length * labelSet.Length];
        for (var b = 0; b < members.Length; b++)
        {
            foreach (var l in positives[trainRows[members[b]]])
            {
                targets[(b * labelSet.Length) + column[l]] = 1;
            }
        }
        return (labelSet, targets);
    }

    // A seeded share of the labelled rows kept out of training (both parts ascending); at least one row trains.
    private static (int[] Train, int[] HeldOut) HoldOut(int[] rows, double fraction, long seed)
    {
        var count = Math.Min((int)Math.Ceiling(rows.Length * fraction), rows.Length - 1);
        if (count <= 0)
        {
            return (rows, []);
        }
        var shuffled = (int[])rows.Clone();
        new Random(SeedMix.Of(seed, "miv-holdout")).Shuffle(shuffled);
        var heldOut = shuffled[..count];
        var train = shuffled[count..];
        Array.Sort(heldOut);
        Array.Sort(train);
        return (train, heldOut);
    }

    // Each row's labels with a stored value above 0 (soft SKIM labels count as positives).
    private static int[][] Positives(CsrMatrix matrix)
    {
        var result = new int[matrix.Rows][];
        for (var r = 0; r < matrix.Rows; r++)
        {
            var indices = matrix.RowIndices(r);
            var values = matrix.RowValues(r);
            var list = new List<int>(indices.Length);
            for (var e = 0; e < indices.Length; e++)
            {
                if (values[e] > 0)
                {
                    list.Add(indices[e]);
                }
            }
            result[r] = [.. list];
        }
        return result;
    }

    private static double ShortlistRecall(int[] shortlist, int width, int[] trainRows, int[][] positives)
    {
        long found = 0, total = 0;
        for (var i = 0; i < trainRows.Length; i++)
        {
            var row = shortlist.AsSpan(i * width, width);
            foreach (var l in positives[trainRows[i]])
            {
                total++;
                found += row.Contains(l) ? 1 : 0;
            }
        }
        return total == 0 ? double.NaN : (double)found / total;
    }

    private static float[] Gather(float[] values, int[] rows, int dimension)
    {
        var result = new float[(long)rows.Length * dimension];
        for (var i = 0; i < rows.Length; i++)
        {
            values.AsSpan(rows[i] * dimension, dimension).CopyTo(result.AsSpan(i * dimension, dimension));
        }
        return result;
    }

    // The options whose change would make a resumed run differ from an uninterrupted one.
    private static MivOptions ShapingOptions(MivOptions options) => options with
    {
        RunDirectory = "",
        OutputDirectory = null,
        Resume = false,
        Device = "",
        EmbedBatchSize = 0,
    };

    private static void CheckSameOptions(string checkpoint, JsonObject saved, JsonObject current)
    {
        foreach (var (key, value) in current)
        {
            var before = saved[key]?.ToJsonString();
            var now = value?.ToJsonString();
            if (before != now)
            {
                throw new SkimConfigException($"{key}: the checkpoint in {checkpoint} was trained with {before ?? "nothing"}, this run asks for {now ?? "nothing"}; resume with the same options or choose another --out");
            }
        }
    }
}
