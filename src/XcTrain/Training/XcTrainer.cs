using System.Diagnostics;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.Manifests;
using Skim.Core.Stages;
using Skim.Core.Metrics;
using Skim.Core.Sparse;
using Skim.Models.Encoders;
using Skim.Models.Optimization;
using Skim.Models.Search;
using Skim.XcTrain.Classifiers;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.XcTrain.Training;

/// <summary>
/// Trains an XC encoder (NGAME's Siamese M1 or a DEXML dual encoder) on a dataset's train matrix or
/// on a given one such as SKIM's augmented matrix: <c>skim train</c>. The run folder gets the
/// trained encoder in Hugging Face form (<c>encoder/</c>), <c>train_log.csv</c>, a checkpoint after
/// every epoch from which <see cref="XcTrainOptions.Resume"/> continues exactly, and
/// <c>manifest.json</c>.
/// </summary>
/// <remarks>
/// Single device: TorchSharp has no distributed data parallel; gradient caching
/// (<see cref="XcTrainOptions.LabelChunkSize"/>) and accumulation give large effective batches.
/// Every random draw is seeded from the run seed and its (epoch, batch) position, so a resumed
/// run draws what the uninterrupted run drew.
/// </remarks>
public static class XcTrainer
{
    /// <summary>Rows embedded at once for validation.</summary>
    private const int EmbedBatchSize = 256;

    /// <summary>Runs the training described by <paramref name="options"/>.</summary>
    /// <exception cref="SkimConfigException">An option is out of range, or the run folder holds another run.</exception>
    /// <exception cref="SkimDataException">The data do not fit together (matrix vs texts, token cache vs tokenizer) or leave nothing to train on.</exception>
    public static Task<XcTrainResult> RunAsync(XcTrainOptions options, IProgress<XcTrainProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // libtorch work is synchronous; the caller's thread stays free to render progress.
        return Task.Run(() => Run(options, progress, ct), ct);
    }

    private static XcTrainResult Run(XcTrainOptions options, IProgress<XcTrainProgress>? progress, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var started = DateTimeOffset.UtcNow;
        var run = Path.GetFullPath(options.OutputDirectory);
        var checkpoint = PrepareRunFolder(run, options.Resume);
        if (options.Threads > 0)
        {
            set_num_threads(options.Threads);
        }
        progress?.Report(new XcTrainProgress(0, options.Epochs, 0, 0, double.NaN, 0, "preparing"));
        var data = TrainingData.Load(options);
        var useTable = UsesLabelTable(options, data.Dataset);
        // Created only once the data check out: bad input leaves nothing behind.
        Directory.CreateDirectory(run);
        var encoderSource = EncoderFolder.Resolve(options.Encoder, run, data.PointTexts.Concat(data.LabelTexts), options.Seed);
        var tokens = TokenCache.OpenOrCreate(options.ResolvedTokenCacheDirectory, encoderSource, data.PointTexts, data.LabelTexts, options.MaxLength);
        random.manual_seed(SeedMix.Torch(options.Seed, "init"));
        using var encoder = TextEncoder.Load(encoderSource, new TextEncoderOptions
        {
            Pooling = Pooling.Parse(options.ResolvedPooling, "pooling"),
            Normalize = options.Normalize,
            Device = options.Device,
            DType = options.DType,
        });
        encoder.CheckTokenizer(Skim.Models.Tokenization.TokenizerLoader.Load(encoderSource).VocabularySize, encoderSource);
        encoder.SetTraining(true);
        using var table = useTable ? CreateLabelTable(options, data, tokens, encoder, checkpoint, progress, ct) : null;
        var labelSide = new LabelSide(encoder, tokens, table);

        // Mixed precision by hand (TorchSharp has no autocast): the encoder computes in bf16, the
        // optimizer updates float32 masters; in float32 the masters are the parameters themselves.
        using var masters = MasterWeights.Create([.. encoder.NamedParameters()], Skim.Models.Devices.TorchDevices.ParseDType(options.DType));
        using var optimizer = CreateOptimizer(masters, table, options);
        var batchesPerEpoch = (data.TrainRows.Length + options.BatchSize - 1) / options.BatchSize;
        var updatesPerEpoch = (batchesPerEpoch + options.GradientAccumulation - 1) / options.GradientAccumulation;
        var schedule = LinearSchedule.Create((long)updatesPerEpoch * options.Epochs, options.WarmupFraction);
        using var step = CreateStep(options, data, tokens, encoder, labelSide);

        var optionsNode = (JsonObject)RunManifest.OptionsNode(TrainingShapingOptions(options));
        var records = new List<EpochRecord>();
        var (firstEpoch, steps, updates) = (0, 0L, 0L);
        if (checkpoint is not null)
        {
            var state = TrainingCheckpoint.ReadState(checkpoint);
            CheckSameOptions(checkpoint, state.Options, optionsNode);
            TrainingCheckpoint.Restore(checkpoint, encoder, optimizer, masters);
            masters.CopyToModel();
            step.LoadState(state.Sampling, name => TrainingCheckpoint.ReadArray(checkpoint, name));
            (firstEpoch, steps, updates) = (state.CompletedEpochs, state.Steps, state.OptimizerSteps);
            records.AddRange(state.Records);
        }

        var weights = InversePropensity.Compute(data.TrainMatrix.SliceRows(data.TrainRows), InversePropensity.DefaultA, InversePropensity.DefaultB);
        if (checkpoint is null)
        {
            // Epoch 0: the untrained encoder, the baseline every later row is read against.
            progress?.Report(new XcTrainProgress(0, options.Epochs, 0, batchesPerEpoch, double.NaN, 0, "validating"));
            records.Add(new EpochRecord(0, 0, 0, double.NaN, 0, 0, Validate(encoder, labelSide, tokens, data, weights, ct)));
        }
        for (var epoch = firstEpoch; epoch < options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            var order = step.EpochOrder(epoch);
            double lossSum = 0;
            var lossCount = 0;
            var learningRate = 0.0;
            for (var batch = 0; batch < batchesPerEpoch; batch++)
            {
                ct.ThrowIfCancellationRequested();
                var rows = order.Skip(batch * options.BatchSize).Take(options.BatchSize).ToArray();
                // Dropout masks depend only on the run seed and the batch's position.
                random.manual_seed(SeedMix.Torch(options.Seed, "dropout", epoch, batch));
                var loss = step.Run(epoch, batch, rows, 1.0 / options.GradientAccumulation);
                if (!double.IsFinite(loss))
                {
                    throw new SkimDataException(data.MatrixSource, $"epoch {epoch + 1}, batch {batch + 1}", $"the loss is {loss}; lower --learning-rate or check the data");
                }
                lossSum += loss;
                lossCount++;
                steps++;
                if ((batch + 1) % options.GradientAccumulation == 0 || batch + 1 == batchesPerEpoch)
                {
                    var factor = schedule.Factor(updates);
                    learningRate = options.LearningRate * factor;
                    foreach (var (group, index) in optimizer.ParamGroups.Select((g, i) => (g, i)))
                    {
                        // Groups 0 and 1 are the encoder's (decay, no decay); group 2 is the label table.
                        group.LearningRate = (index < 2 ? options.LearningRate : options.LabelTableLearningRate) * factor;
                    }
                    masters.TakeGradients();
                    optimizer.step();
                    optimizer.zero_grad();
                    masters.ZeroModelGradients();
                    masters.CopyToModel();
                    updates++;
                }
                progress?.Report(new XcTrainProgress(epoch + 1, options.Epochs, batch + 1, batchesPerEpoch, lossSum / lossCount,
                    (batch + 1) * (double)options.BatchSize / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9), "training"));
            }
            var trainSeconds = epochClock.Elapsed.TotalSeconds;
            progress?.Report(new XcTrainProgress(epoch + 1, options.Epochs, batchesPerEpoch, batchesPerEpoch, lossSum / lossCount, data.TrainRows.Length / trainSeconds, "validating"));
            var validation = Validate(encoder, labelSide, tokens, data, weights, ct);
            step.EndEpoch(epoch);
            records.Add(new EpochRecord(epoch + 1, steps, learningRate, lossSum / Math.Max(1, lossCount), data.TrainRows.Length / Math.Max(trainSeconds, 1e-9), epochClock.Elapsed.TotalSeconds, validation));

            var arrays = new Dictionary<string, NpyArray>();
            var sampling = step.SaveState(arrays);
            if (table is not null)
            {
                arrays[LabelTable.ArrayName] = table.ToArray();
            }
            TrainingCheckpoint.Save(run, encoder, optimizer, new TrainingState(epoch + 1, steps, updates, [.. records], optionsNode, sampling), arrays, masters);
            TrainLog.Write(Path.Combine(run, TrainLog.FileName), records);
            TrainLog.WriteCharts(run, records);
        }

        var encoderDirectory = Path.Combine(run, EncoderFolder.RunEncoderFolder);
        EncoderFolder.Save(encoder, encoderSource, encoderDirectory, new EncoderSettings(options.ResolvedPooling, options.Normalize, options.MaxLength), masters);
        // The table travels with the encoder: skim predict and skim classifier train find it there.
        table?.Save(Path.Combine(encoderDirectory, LabelTable.FileName));
        TrainLog.Write(Path.Combine(run, TrainLog.FileName), records);
        WriteManifest(run, options, data, encoderDirectory, table is not null, records, started, clock.Elapsed);
        return new XcTrainResult(run, encoderDirectory, records, data.TrainRows.Length, data.ValidationRows.Length, data.RowsWithoutLabels, firstEpoch, clock.Elapsed);
    }

    // A run folder is new, empty, or (with --resume) one whose checkpoint continues; anything else is another run's.
    private static string? PrepareRunFolder(string run, bool resume)
    {
        var checkpoint = Directory.Exists(run) ? TrainingCheckpoint.Find(run) : null;
        if (checkpoint is not null && !resume)
        {
            throw new SkimConfigException($"out '{run}': the folder holds a training run (checkpoint after epoch {TrainingCheckpoint.ReadState(checkpoint).CompletedEpochs}); pass --resume to continue it or choose another --out");
        }
        if (checkpoint is null && Directory.Exists(run) && File.Exists(Path.Combine(run, RunManifest.FileName)))
        {
            throw new SkimConfigException($"out '{run}': the folder holds a finished run; choose another --out");
        }
        return checkpoint;
    }

    private static void CheckSameOptions(string checkpoint, JsonObject saved, JsonObject current)
    {
        // An option added after the checkpoint was written is missing from it: the run trained with its default.
        var defaults = (JsonObject)RunManifest.OptionsNode(TrainingShapingOptions(new XcTrainOptions { DatasetDirectory = "", OutputDirectory = "" }));
        foreach (var (key, value) in current)
        {
            var before = saved.ContainsKey(key) ? saved[key]?.ToJsonString() : defaults[key]?.ToJsonString();
            var now = value?.ToJsonString();
            if (before != now)
            {
                throw new SkimConfigException($"{key}: the checkpoint in {checkpoint} was trained with {before ?? "nothing"}, this run asks for {now ?? "nothing"}; resume with the same options or start a new --out");
            }
        }
    }

    // The options whose change would make a resumed run differ from an uninterrupted one.
    private static XcTrainOptions TrainingShapingOptions(XcTrainOptions options) => options with
    {
        OutputDirectory = "",
        Resume = false,
        Device = "",
        Threads = 0,
        TokenCacheDirectory = null,
    };

    /// <summary>
    /// Whether the run learns a label table: asked for, or (auto) the dataset has no non-empty label text.
    /// </summary>
    /// <exception cref="SkimDataException">Label texts are asked for and the dataset has none.</exception>
    internal static bool UsesLabelTable(XcTrainOptions options, Skim.Core.Datasets.XcDataset dataset)
    {
        var hasText = dataset.HasLabelTexts && dataset.LabelTexts.Any(text => !string.IsNullOrWhiteSpace(text));
        return options.LabelFeatures switch
        {
            LabelFeatureKind.Table => true,
            LabelFeatureKind.Text when !hasText => throw new SkimDataException(dataset.Directory, null,
                "label_features is text but the dataset has no label texts; use --label-features table (or auto) to learn a label embedding table"),
            LabelFeatureKind.Text => false,
            _ => !hasText,
        };
    }

    // A new run starts the table from class centroids of the initial encoder; a resumed one from its checkpoint.
    private static LabelTable CreateLabelTable(XcTrainOptions options, TrainingData data, TokenCache tokens, TextEncoder encoder, string? checkpoint, IProgress<XcTrainProgress>? progress, CancellationToken ct)
    {
        if (checkpoint is not null)
        {
            var saved = TrainingCheckpoint.ReadArray(checkpoint, LabelTable.ArrayName)
                ?? throw new SkimFormatException(checkpoint, null, $"no {LabelTable.FileName}; the checkpoint was not written by a run with a label table");
            var table = LabelTable.FromArray(new float[(long)data.Labels * encoder.Dimension], data.Labels, encoder.Dimension, options.Normalize, encoder.Device);
            table.Load(saved, Path.Combine(checkpoint, LabelTable.FileName));
            return table;
        }
        progress?.Report(new XcTrainProgress(0, options.Epochs, 0, 0, double.NaN, 0, "label table"));
        var points = TokenBatches.Embed(encoder, tokens.Points, data.TrainRows, EmbedBatchSize, ct);
        return LabelTable.FromCentroids(points, data.TrainRows, data.TrainMatrix, encoder.Dimension, options.Normalize, options.Seed, encoder.Device);
    }

    // AdamW with DEXML's two groups: no weight decay on biases and LayerNorm weights; the label
    // table, when there is one, in a third group with its own rate and no decay.
    private static Skim.Models.Optimization.AdamW CreateOptimizer(MasterWeights masters, LabelTable? table, XcTrainOptions options)
    {
        var decay = new List<TorchSharp.Modules.Parameter>();
        var noDecay = new List<TorchSharp.Modules.Parameter>();
        foreach (var (name, parameter) in masters.Named.Select((n, i) => (n.Name, masters.Parameters[i])))
        {
            var lower = name.ToLowerInvariant();
            var exempt = lower.Contains("bias", StringComparison.Ordinal) || lower.Contains("layernorm", StringComparison.Ordinal) || lower.Contains("layer_norm", StringComparison.Ordinal);
            (exempt ? noDecay : decay).Add(parameter);
        }
        List<TorchSharp.Modules.AdamW.ParamGroup> groups =
        [
            new(decay, new TorchSharp.Modules.AdamW.Options { weight_decay = options.WeightDecay }),
            new(noDecay, new TorchSharp.Modules.AdamW.Options { weight_decay = 0 }),
        ];
        if (table is not null)
        {
            groups.Add(new([table.Weight], new TorchSharp.Modules.AdamW.Options { LearningRate = options.LabelTableLearningRate, weight_decay = 0 }));
        }
        return new Skim.Models.Optimization.AdamW(groups, lr: options.LearningRate);
    }

    private static ITrainingStep CreateStep(XcTrainOptions options, TrainingData data, TokenCache tokens, TextEncoder encoder, LabelSide labels) => options.Model switch
    {
        XcModelKind.Ngame => new NgameStep(options, data, tokens, encoder, labels),
        _ => new DualEncoderStep(options, data, tokens, encoder, labels),
    };

    // Label-embedding retrieval on the held-out train points: what training is selected and judged by.
    private static Dictionary<string, double> Validate(TextEncoder encoder, LabelSide labelSide, TokenCache tokens, TrainingData data, double[] weights, CancellationToken ct)
    {
        if (data.ValidationRows.Length == 0)
        {
            return [];
        }
        var points = TokenBatches.Embed(encoder, tokens.Points, data.ValidationRows, EmbedBatchSize, ct);
        var labels = labelSide.EmbedAll(EmbedBatchSize, ct);
        var dimension = encoder.Dimension;
        var scores = EmbeddingKnnClassifier.Predict(
            EmbeddingRows.FromArray(points, data.ValidationRows.Length, dimension, "validation points"),
            EmbeddingRows.FromArray(labels, data.Labels, dimension, "labels"),
            new EmbeddingKnnOptions { TopK = Math.Min(100, data.Labels), Device = encoder.Device.ToString() },
            ct: ct);
        var truth = data.TrainMatrix.SliceRows(data.ValidationRows);
        var result = XcMetrics.Evaluate(scores, truth, new XcMetricsOptions { MaxK = Math.Min(100, data.Labels), InversePropensity = weights, Filter = ValidationFilter(data) }, ct);
        double At(XcMetric metric, int k) => k <= result.MaxK ? result.Get(metric, k) : double.NaN;
        return new Dictionary<string, double>
        {
            ["P@1"] = At(XcMetric.Precision, 1),
            ["P@5"] = At(XcMetric.Precision, 5),
            ["nDCG@5"] = At(XcMetric.Ndcg, 5),
            ["PSP@5"] = At(XcMetric.PsPrecision, 5),
            ["R@10"] = At(XcMetric.Recall, 10),
            ["R@100"] = At(XcMetric.Recall, 100),
        };
    }

    // The dataset's train filter pairs (a point's own page as a label, ...) restricted to the
    // validation rows, removed from predictions as skim eval does.
    private static PredictionFilter? ValidationFilter(TrainingData data) =>
        PredictionFilter.ForRows(data.Dataset.TrainFilter, data.ValidationRows, data.Labels);

    private static void WriteManifest(string run, XcTrainOptions options, TrainingData data, string encoderDirectory, bool labelTable, List<EpochRecord> records, DateTimeOffset started, TimeSpan elapsed)
    {
        var inputs = StageFreshness.DescribeInputs(options.InputPaths());
        var outputs = RunManifest.Describe(encoderDirectory, run).Concat(RunManifest.Describe(Path.Combine(run, TrainLog.FileName), run)).ToList();
        var last = records.Count > 0 ? records[^1] : null;
        var summary = new JsonObject
        {
            ["train_rows"] = data.TrainRows.Length,
            ["validation_rows"] = data.ValidationRows.Length,
            ["rows_without_labels"] = data.RowsWithoutLabels,
            ["label_features"] = labelTable ? "table" : "text",
            ["epochs"] = records.Count(r => r.Epoch > 0),
            ["final_loss"] = last?.Loss,
        };
        foreach (var (metric, value) in last?.Validation ?? new Dictionary<string, double>())
        {
            summary["val_" + metric] = double.IsFinite(value) ? value : null;
        }
        new RunManifest
        {
            Stage = "train",
            // Resume says how this run got here, not what it is: a resumed run equals an uninterrupted one.
            Options = RunManifest.OptionsNode(options with { Resume = false }),
            Seed = options.Seed,
            Inputs = inputs,
            Outputs = outputs,
            Started = started,
            Seconds = elapsed.TotalSeconds,
            Summary = summary,
            Complete = true,
        }.Write(run);
    }
}
