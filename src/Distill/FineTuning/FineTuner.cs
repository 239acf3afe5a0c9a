using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Manifests;
using Skim.Core.Reports;
using Skim.Core.Stages;
using Skim.Models.Devices;
using Skim.Models.Optimization;
using Skim.Models.Llama;
using Skim.Models.Lora;
using Skim.Models.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Skim.Distill.FineTuning;

/// <summary>What a fine-tuning run did.</summary>
/// <param name="OutputDirectory">The output folder (holding the merged checkpoint).</param>
/// <param name="Steps">Optimizer steps done in total.</param>
/// <param name="TotalSteps">Optimizer steps the schedule spans (every epoch).</param>
/// <param name="Epochs">Epochs done, fractional when the run stopped inside one.</param>
/// <param name="TrainExamples">Training pairs used.</param>
/// <param name="ValExamples">Validation pairs used.</param>
/// <param name="DroppedTooLong">Pairs (train and val) dropped for exceeding the maximum sequence length.</param>
/// <param name="TrainTokens">Ids trained on (padding excluded, every epoch).</param>
/// <param name="ResponseTokens">Response ids the loss covered.</param>
/// <param name="FirstValLoss">The validation loss before training (null without validation pairs).</param>
/// <param name="FinalValLoss">The validation loss after the last step (null without validation pairs).</param>
/// <param name="FinalTrainLoss">The last step's training loss.</param>
/// <param name="TokensPerSecond">Ids trained on per second of training.</param>
/// <param name="TrainableParameters">Parameters trained.</param>
/// <param name="TotalParameters">Parameters of the model (adapters included).</param>
/// <param name="ResumedFromStep">The checkpoint step this run continued from (0 for a fresh run).</param>
/// <param name="Log">The train_log.csv rows.</param>
public sealed record FineTuneResult(
    string OutputDirectory,
    long Steps,
    long TotalSteps,
    double Epochs,
    int TrainExamples,
    int ValExamples,
    int DroppedTooLong,
    long TrainTokens,
    long ResponseTokens,
    double? FirstValLoss,
    double? FinalValLoss,
    double? FinalTrainLoss,
    double TokensPerSecond,
    long TrainableParameters,
    long TotalParameters,
    long ResumedFromStep,
    IReadOnlyList<FineTuneLogRow> Log)
{
    /// <summary>Gets the summary a manifest and <c>skim run</c> show.</summary>
    public JsonObject Summary() => new()
    {
        ["steps"] = Steps,
        ["total_steps"] = TotalSteps,
        ["epochs"] = Math.Round(Epochs, 4),
        ["train_examples"] = TrainExamples,
        ["val_examples"] = ValExamples,
        ["dropped_too_long"] = DroppedTooLong,
        ["train_tokens"] = TrainTokens,
        ["response_tokens"] = ResponseTokens,
        ["first_val_loss"] = FirstValLoss,
        ["final_val_loss"] = FinalValLoss,
        ["final_train_loss"] = FinalTrainLoss,
        ["tokens_per_second"] = Math.Round(TokensPerSecond, 1),
        ["trainable_parameters"] = TrainableParameters,
        ["total_parameters"] = TotalParameters,
        ["resumed_from_step"] = ResumedFromStep,
    };
}

/// <summary>
/// Supervised fine-tuning of a Llama-family decoder on prompt → response pairs, LoRA by default:
/// loss on response tokens only, AdamW with warm-up and cosine decay, micro batches accumulated
/// into global batches, periodic validation and resumable checkpoints. The output folder gets a
/// merged Hugging Face checkpoint (what step-1 generates with), the PEFT adapter, train_log.csv and
/// manifest.json.
/// </summary>
/// <remarks>
/// Every random draw depends only on the seed and the position in the run (adapter initialisation,
/// each epoch's order, each micro batch's dropout masks), so a run killed and resumed from its last
/// checkpoint repeats the steps after it exactly and ends with the weights an uninterrupted run
/// ends with (bit for bit on the CPU with the same thread count).
/// </remarks>
public static class FineTuner
{
    /// <summary>The stage kind written into manifests.</summary>
    public const string Kind = "finetune";

    /// <summary>The adapter folder inside the output folder.</summary>
    public const string AdapterFolder = "adapter";

    /// <summary>The loss-curve image inside the output folder.</summary>
    public const string LossPlotFile = "loss.png";

    /// <summary>The files and folders a run reads: train.json, val.json and the base model folder.</summary>
    public static IReadOnlyList<string> Inputs(FineTuneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return [options.TrainPath, options.ValidationPath, options.BaseModelDirectory];
    }

    /// <summary>Runs (or resumes, when the output folder holds a checkpoint of the same options) the fine-tuning.</summary>
    /// <exception cref="SkimConfigException">An option is invalid, or the folder's checkpoint was made with other options.</exception>
    /// <exception cref="SkimFormatException">The SFT files or the base model (config, weights, tokenizer) are missing or invalid.</exception>
    /// <exception cref="SkimDataException">No training pair is left, or the loss stops being finite.</exception>
    public static Task<FineTuneResult> RunAsync(FineTuneOptions options, IProgress<StageProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // libtorch work is synchronous; the caller's thread stays free to render progress.
        return Task.Run(() => Run(options, progress, ct), ct);
    }

    private static FineTuneResult Run(FineTuneOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var output = Path.GetFullPath(options.OutputDirectory);
        var device = TorchDevices.ParseDevice(options.Device, "device");
        var dtype = TorchDevices.ParseDType(options.DType, "dtype");
        progress?.Report(new StageProgress("fine-tune", 0, 0, "steps", "loading"));

        // Everything that can be wrong with the input is found before the output folder is touched.
        var baseModel = Path.GetFullPath(options.BaseModelDirectory);
        CheckBaseModel(baseModel);
        var tokenizer = TokenizerLoader.Load(baseModel);
        var config = LlamaConfig.Read(Path.Combine(baseModel, "config.json"));
        var eos = tokenizer.Special.Eos ?? (config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : (int?)null)
            ?? throw new SkimFormatException(baseModel, null, "the base model names no EOS token (tokenizer_config.json eos_token or config.json eos_token_id); fine-tuning teaches the model to end its response with it");
        var pad = tokenizer.Special.Pad ?? config.PadTokenId ?? eos;
        var train = SftExamples.Tokenize(SftExamples.Read(options.TrainPath), tokenizer, eos, options.MaxSequenceLength);
        var validation = SftExamples.Tokenize(SftExamples.Read(options.ValidationPath), tokenizer, eos, options.MaxSequenceLength);
        if (train.Examples.Count == 0)
        {
            throw new SkimDataException(options.TrainPath, null, train.TooLong > 0
                ? $"all {train.TooLong} pairs are longer than max_sequence_length {options.MaxSequenceLength} tokens; raise it or trim the prompts"
                : "no training pairs (the file holds an empty array)");
        }
        var tooLarge = train.Examples.Concat(validation.Examples).SelectMany(e => e.Ids).Where(id => id >= config.VocabSize).Take(1).ToList();
        if (tooLarge.Count > 0)
        {
            throw new SkimFormatException(baseModel, null, $"the tokenizer produces id {tooLarge[0]}, beyond the model's vocab_size {config.VocabSize}");
        }

        var shaping = (JsonObject)RunManifest.OptionsNode(TrainingShapingOptions(options));
        var checkpoint = Directory.Exists(output) ? FineTuneCheckpoint.Find(output) : null;
        var state = checkpoint is null ? null : FineTuneCheckpoint.ReadState(checkpoint);
        if (state is not null)
        {
            CheckSameOptions(checkpoint!, state.Options, shaping);
        }
        var inputs = Inputs(options);
        var started = StageManifests.WriteStarted(Kind, options, options.Seed, inputs, output);

        torch.random.manual_seed(SeedMix.Torch(options.Seed, "init"));
        using var model = LlamaForCausalLM.FromPretrained(baseModel, device, dtype);
        if (options.Method == FineTuneMethod.Lora)
        {
            LoraModel.Apply(model, options.LoraOptions);
            LoraModel.MarkOnlyLoraAsTrainable(model);
        }
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        var totalParameters = model.parameters().Sum(p => p.numel());
        var trainableParameters = trainable.Sum(p => p.parameter.numel());
        using var masters = MasterWeights.Create(trainable, dtype);
        using var optimizer = CreateOptimizer(masters, options);

        var batches = new SftBatches(train.Examples, options.MicroBatchSize, options.GlobalBatchSize, options.Bucketing, options.Seed);
        var stepsPerEpoch = batches.StepsPerEpoch;
        var totalSteps = (long)stepsPerEpoch * options.Epochs;
        var stopAt = Math.Min(totalSteps, options.MaxSteps ?? long.MaxValue);
        var schedule = new CosineSchedule(options.LearningRate, options.MinLearningRate, options.WarmupSteps, totalSteps);

        var log = new List<FineTuneLogRow>();
        var (step, tokens, responseTokens, seconds) = (0L, 0L, 0L, 0.0);
        if (state is not null)
        {
            FineTuneCheckpoint.Restore(checkpoint!, masters.Named, optimizer);
            masters.CopyToModel();
            (step, tokens, responseTokens, seconds) = (state.Step, state.Tokens, state.ResponseTokens, state.Seconds);
            log.AddRange(state.Log);
        }
        var resumedFrom = step;
        if (log.Count == 0)
        {
            progress?.Report(new StageProgress("fine-tune", 0, stopAt, "steps", "validating"));
            log.Add(new FineTuneLogRow(0, 0, 0, null, Evaluate(model, validation.Examples, options.MicroBatchSize, pad, device, ct), 0, 0));
        }

        var clock = Stopwatch.StartNew();
        var secondsBefore = seconds;
        var tokensBefore = tokens;
        while (step < stopAt)
        {
            ct.ThrowIfCancellationRequested();
            var epoch = (int)(step / stepsPerEpoch);
            var micro = batches.Step(epoch, (int)(step % stepsPerEpoch));
            var divisor = batches.ResponseTokens(micro);
            model.train();
            double lossSum = 0;
            for (var m = 0; m < micro.Count; m++)
            {
                // Dropout masks depend only on the run seed and the micro batch's position.
                torch.random.manual_seed(SeedMix.Torch(options.Seed, "dropout", step, m));
                using var scope = NewDisposeScope();
                using var batch = batches.Collate(micro[m], pad, device);
                // Right padding needs no attention mask: under the causal mask a real token never
                // sees the padding after it, and padded positions carry no target.
                using var logits = model.forward(batch.Inputs); // (B, T, V)
                using var loss = SftLoss.Sum(logits, batch.Targets); // ()
                using var held = new Skim.Models.Devices.HeldScalars(); // every micro-batch: see HeldScalars
                using var scaled = loss.div(held[divisor]);
                scaled.backward();
                lossSum += loss.item<float>();
                tokens += batch.Tokens;
            }
            responseTokens += divisor;
            var trainLoss = lossSum / divisor;
            if (!double.IsFinite(trainLoss))
            {
                throw new SkimDataException(options.TrainPath, $"step {step + 1}", $"the loss is {trainLoss}; lower learning_rate or check the pairs");
            }
            var learningRate = schedule.At(step);
            masters.TakeGradients();
            if (options.GradientClip > 0)
            {
                nn.utils.clip_grad_norm_(masters.Parameters, options.GradientClip);
            }
            foreach (var group in optimizer.ParamGroups)
            {
                group.LearningRate = learningRate;
            }
            optimizer.step();
            optimizer.zero_grad();
            masters.ZeroModelGradients();
            masters.CopyToModel();
            step++;

            var elapsed = secondsBefore + clock.Elapsed.TotalSeconds;
            var evaluate = step == stopAt || (options.EvalEverySteps > 0 && step % options.EvalEverySteps == 0);
            double? valLoss = evaluate ? Evaluate(model, validation.Examples, options.MicroBatchSize, pad, device, ct) : null;
            log.Add(new FineTuneLogRow(step, epoch + 1, learningRate, trainLoss, valLoss, tokens, elapsed));
            var rate = (tokens - tokensBefore) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            progress?.Report(new StageProgress("fine-tune", step, stopAt, "steps",
                string.Create(CultureInfo.InvariantCulture, $"loss {trainLoss:F4}{(valLoss is { } v ? $", val {v:F4}" : "")}, lr {learningRate:G3}, {rate:F0} tok/s")));
            if (step == stopAt || (options.CheckpointEverySteps > 0 && step % options.CheckpointEverySteps == 0))
            {
                FineTuneCheckpoint.Save(output, masters.Named, optimizer, new FineTuneState(step, tokens, responseTokens, elapsed, [.. log], shaping));
                FineTuneLog.Write(Path.Combine(output, FineTuneLog.FileName), log);
            }
        }

        ct.ThrowIfCancellationRequested();
        progress?.Report(new StageProgress("fine-tune", step, stopAt, "steps", "saving"));
        model.eval();
        var outputs = new List<string> { Path.Combine(output, "config.json"), Path.Combine(output, "model.safetensors"), Path.Combine(output, FineTuneLog.FileName) };
        outputs.AddRange(LoraModel.TokenizerFileNames.Select(name => Path.Combine(output, name)).Where(path => File.Exists(Path.Combine(baseModel, Path.GetFileName(path)))));
        if (options.Method == FineTuneMethod.Lora)
        {
            var adapter = Path.Combine(output, AdapterFolder);
            LoraModel.SaveAdapter(model, options.LoraOptions, adapter, baseModel);
            outputs.Add(adapter);
        }
        LoraModel.SaveMerged(model, output, baseModel);
        FineTuneLog.Write(Path.Combine(output, FineTuneLog.FileName), log);
        WriteLossPlot(Path.Combine(output, LossPlotFile), log);
        outputs.Add(Path.Combine(output, LossPlotFile));

        var trainingSeconds = log[^1].Seconds;
        var firstVal = log[0].ValLoss;
        var lastVal = log[^1].ValLoss;
        var result = new FineTuneResult(
            output,
            step,
            totalSteps,
            (double)step / stepsPerEpoch,
            train.Examples.Count,
            validation.Examples.Count,
            train.TooLong + validation.TooLong,
            tokens,
            responseTokens,
            firstVal,
            lastVal,
            log[^1].TrainLoss,
            trainingSeconds > 0 ? tokens / trainingSeconds : 0,
            trainableParameters,
            totalParameters,
            resumedFrom,
            log);
        StageManifests.WriteComplete(Kind, options, options.Seed, inputs, output, outputs, result.Summary(), started);
        if (!options.KeepCheckpoint)
        {
            DeleteCheckpoints(output);
        }
        return result;
    }

    /// <summary>
    /// Returns the loss per response token over <paramref name="examples"/> with dropout off, or null
    /// when there are none. Examples are batched longest first so batches pad little.
    /// </summary>
    public static double? Evaluate(LlamaForCausalLM model, IReadOnlyList<SftExample> examples, int batchSize, int padId, Device device, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0)
        {
            return null;
        }
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            double sum = 0;
            long count = 0;
            foreach (var chunk in examples.OrderByDescending(e => e.Length).Chunk(batchSize))
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = SftBatches.Collate(chunk, padId, device);
                using var logits = model.forward(batch.Inputs); // (B, T, V)
                using var loss = SftLoss.Sum(logits, batch.Targets); // ()
                sum += loss.item<float>();
                count += batch.ResponseTokens;
            }
            return sum / count;
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Writes the loss curves of <paramref name="log"/>: training loss per step and validation loss where computed.</summary>
    public static void WriteLossPlot(string path, IReadOnlyList<FineTuneLogRow> log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var trained = log.Where(r => r.TrainLoss is not null).ToList();
        var validated = log.Where(r => r.ValLoss is not null).ToList();
        Charts.Line(path, "Fine-tuning loss (per response token)", "optimizer step", "cross-entropy",
        [
            ("train", [.. trained.Select(r => (double)r.Step)], [.. trained.Select(r => r.TrainLoss!.Value)]),
            ("validation", [.. validated.Select(r => (double)r.Step)], [.. validated.Select(r => r.ValLoss!.Value)]),
        ]);
    }

    private static void CheckBaseModel(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new SkimFormatException(folder, null, "base model folder not found");
        }
        if (!File.Exists(Path.Combine(folder, "config.json")))
        {
            throw new SkimFormatException(folder, null, "not a Hugging Face model folder (config.json is missing)");
        }
        string[] tokenizerFiles = ["tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt", "vocab.txt"];
        if (!tokenizerFiles.Any(name => File.Exists(Path.Combine(folder, name))))
        {
            throw new SkimFormatException(folder, null, "the base model has no tokenizer (expected tokenizer.json, tokenizer.model, or vocab.json + merges.txt); copy the tokenizer files of the model it came from into the folder");
        }
    }

    // The options whose change would make a resumed run differ from an uninterrupted one; where
    // outputs go, the device, the early stop and checkpoint keeping do not.
    private static FineTuneOptions TrainingShapingOptions(FineTuneOptions options) => options with
    {
        SftDirectory = "",
        BaseModelDirectory = "",
        OutputDirectory = "",
        Device = "",
        MaxSteps = null,
        KeepCheckpoint = false,
        CheckpointEverySteps = 0,
    };

    private static void CheckSameOptions(string checkpoint, JsonObject saved, JsonObject current)
    {
        foreach (var (key, value) in current)
        {
            var before = saved[key]?.ToJsonString();
            var now = value?.ToJsonString();
            if (before != now)
            {
                throw new SkimConfigException($"{key}: the checkpoint in {checkpoint} was trained with {before ?? "nothing"}, this run asks for {now ?? "nothing"}; resume with the same options or choose another output folder");
            }
        }
    }

    // AdamW with weight decay on matrices only: norms' gains and biases are not pulled to zero.
    private static Skim.Models.Optimization.AdamW CreateOptimizer(MasterWeights masters, FineTuneOptions options)
    {
        var decay = masters.Parameters.Where(p => p.dim() >= 2).ToList();
        var noDecay = masters.Parameters.Where(p => p.dim() < 2).ToList();
        var groups = new List<TorchSharp.Modules.AdamW.ParamGroup>
        {
            new(decay, new TorchSharp.Modules.AdamW.Options { weight_decay = options.WeightDecay, beta1 = options.Beta1, beta2 = options.Beta2 }),
        };
        if (noDecay.Count > 0)
        {
            groups.Add(new(noDecay, new TorchSharp.Modules.AdamW.Options { weight_decay = 0, beta1 = options.Beta1, beta2 = options.Beta2 }));
        }
        return new Skim.Models.Optimization.AdamW(groups, lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2, weight_decay: options.WeightDecay);
    }

    private static void DeleteCheckpoints(string output)
    {
        foreach (var name in new[] { FineTuneCheckpoint.FolderName, FineTuneCheckpoint.FolderName + ".old", FineTuneCheckpoint.FolderName + ".tmp" })
        {
            var folder = Path.Combine(output, name);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
