using System.CommandLine;
using System.Globalization;
using Skim.XcTrain.Training;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim train</c>: trains an XC encoder (NGAME or DEXML) on a dataset's train matrix or on a
/// given one (SKIM's <c>trn_X_Y_skim.npz</c>) with <see cref="XcTrainer"/>, then prints the epochs' table.
/// </summary>
public static class TrainCommand
{
    /// <summary>Builds the <c>train</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var defaults = new XcTrainOptions { DatasetDirectory = "", OutputDirectory = "" };
        var dataset = new Option<string>("--dataset", "-d") { Description = "The dataset folder (DEXML or XC layout).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The run folder: encoder/, checkpoint/, train_log.csv, manifest.json.", Required = true };
        var matrix = new Option<string?>("--train-matrix") { Description = "Train on this matrix (.npz or XC text, e.g. trn_X_Y_skim.npz) instead of the dataset's." };
        var model = new Option<string>("--model") { Description = "ngame (Siamese, triplet loss, clustered batches) or dexml (dual encoder, softmax-family loss).", DefaultValueFactory = _ => "dexml" };
        model.AcceptOnlyFromAmong("ngame", "dexml");
        var loss = new Option<string>("--loss") { Description = "DEXML loss: softmax, decoupled-softmax or soft-topk.", DefaultValueFactory = _ => XcTrainOptions.LossName(defaults.Loss) };
        loss.AcceptOnlyFromAmong("softmax", "decoupled-softmax", "soft-topk");
        var sampler = new Option<string>("--sampler") { Description = "DEXML negative sampler: in-batch, mixed, batch-mix, cross-batch, cross-batch-mixed or mixed-bayesian.", DefaultValueFactory = _ => defaults.Sampler };
        var samplerNegatives = new Option<int>("--sampler-negatives") { Description = "Uniform label draws (mixed kinds) or synthetic columns (batch-mix) per step.", DefaultValueFactory = _ => defaults.SamplerNegatives };
        var samplerQueue = new Option<int>("--sampler-queue") { Description = "Label embeddings the cross-batch kinds remember.", DefaultValueFactory = _ => defaults.SamplerQueueSize };
        var shortlistNegatives = new Option<int>("--shortlist-negatives") { Description = "DEXML hard negatives per row per step from a shortlist mined with the current model (0 = in-batch only).", DefaultValueFactory = _ => defaults.ShortlistNegatives };
        var shortlistSize = new Option<int>("--shortlist-size") { Description = "Labels kept per row in the mined shortlist.", DefaultValueFactory = _ => defaults.ShortlistSize };
        var shortlistStart = new Option<int>("--shortlist-start") { Description = "Epoch after which the first shortlist is mined.", DefaultValueFactory = _ => defaults.ShortlistStartEpoch };
        var shortlistEvery = new Option<int>("--shortlist-every") { Description = "Epochs between shortlist refreshes.", DefaultValueFactory = _ => defaults.ShortlistInterval };
        var encoder = new Option<string>("--encoder") { Description = "A BERT/DistilBERT folder, a skim train run folder, or init:ARCH-PRESET for a random one.", DefaultValueFactory = _ => defaults.Encoder };
        var pooling = new Option<string?>("--pooling") { Description = "mean or cls. Defaults to mean for ngame, cls for dexml." };
        var epochs = new Option<int>("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => defaults.Epochs };
        var batchSize = new Option<int>("--batch-size") { Description = "Train points per step.", DefaultValueFactory = _ => defaults.BatchSize };
        var accumulation = new Option<int>("--gradient-accumulation") { Description = "Steps summed per optimizer update.", DefaultValueFactory = _ => defaults.GradientAccumulation };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (linear warm-up, then linear decay).", DefaultValueFactory = _ => defaults.LearningRate };
        var labelFeatures = new Option<string>("--label-features") { Description = "What stands for a label: text (its text, encoded), table (a learnable embedding per label) or auto (text when the dataset has label texts).", DefaultValueFactory = _ => "auto" };
        labelFeatures.AcceptOnlyFromAmong("auto", "text", "table");
        var labelTableLr = new Option<double>("--label-table-lr") { Description = "Peak learning rate of the label table.", DefaultValueFactory = _ => defaults.LabelTableLearningRate };
        var temperature = new Option<double>("--temperature") { Description = "Softmax temperature of the DEXML losses.", DefaultValueFactory = _ => defaults.Temperature };
        var margin = new Option<double>("--margin") { Description = "Triplet margin of NGAME's loss.", DefaultValueFactory = _ => defaults.Margin };
        var maxLength = new Option<int>("--max-length") { Description = "Tokens per text, special tokens included.", DefaultValueFactory = _ => defaults.MaxLength };
        var chunk = new Option<int>("--label-chunk-size") { Description = "Gradient caching: label rows encoded at once (0 = off).", DefaultValueFactory = _ => defaults.LabelChunkSize };
        var validation = new Option<double>("--validation-fraction") { Description = "Share of train points held out to validate on (never the test split).", DefaultValueFactory = _ => defaults.ValidationFraction };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => defaults.Device };
        var dtype = new Option<string>("--dtype") { Description = "float32, or bfloat16 for mixed precision (bf16 compute, float32 master weights; the saved encoder is float32).", DefaultValueFactory = _ => defaults.DType };
        dtype.AcceptOnlyFromAmong("float32", "bfloat16");
        var seed = new Option<long>("--seed") { Description = "Seed of every random choice.", DefaultValueFactory = _ => defaults.Seed };
        var threads = new Option<int>("--threads") { Description = "CPU threads for libtorch (0 = its default).", DefaultValueFactory = _ => defaults.Threads };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint." };
        var tokenCache = new Option<string?>("--token-cache") { Description = "Token cache folder. Defaults to tokens/ in the run folder." };
        var command = new Command("train", "Train an XC encoder (NGAME or DEXML) on the original or an augmented train matrix.")
        {
            dataset, output, matrix, model, loss, sampler, samplerNegatives, samplerQueue, shortlistNegatives, shortlistSize, shortlistStart, shortlistEvery, encoder, pooling, epochs, batchSize, accumulation, lr, labelFeatures, labelTableLr, temperature, margin, maxLength, chunk, validation, device, dtype, seed, threads, resume, tokenCache,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new XcTrainOptions
            {
                DatasetDirectory = parseResult.GetValue(dataset)!,
                OutputDirectory = parseResult.GetValue(output)!,
                TrainMatrixPath = parseResult.GetValue(matrix),
                Model = XcTrainOptions.ParseModel(parseResult.GetValue(model)!),
                Loss = XcTrainOptions.ParseLoss(parseResult.GetValue(loss)!),
                Sampler = parseResult.GetValue(sampler)!,
                SamplerNegatives = parseResult.GetValue(samplerNegatives),
                SamplerQueueSize = parseResult.GetValue(samplerQueue),
                ShortlistNegatives = parseResult.GetValue(shortlistNegatives),
                ShortlistSize = parseResult.GetValue(shortlistSize),
                ShortlistStartEpoch = parseResult.GetValue(shortlistStart),
                ShortlistInterval = parseResult.GetValue(shortlistEvery),
                Encoder = parseResult.GetValue(encoder)!,
                Pooling = parseResult.GetValue(pooling),
                Epochs = parseResult.GetValue(epochs),
                BatchSize = parseResult.GetValue(batchSize),
                GradientAccumulation = parseResult.GetValue(accumulation),
                LearningRate = parseResult.GetValue(lr),
                LabelFeatures = XcTrainOptions.ParseLabelFeatures(parseResult.GetValue(labelFeatures)!),
                LabelTableLearningRate = parseResult.GetValue(labelTableLr),
                Temperature = parseResult.GetValue(temperature),
                Margin = parseResult.GetValue(margin),
                MaxLength = parseResult.GetValue(maxLength),
                LabelChunkSize = parseResult.GetValue(chunk),
                ValidationFraction = parseResult.GetValue(validation),
                Device = parseResult.GetValue(device)!,
                DType = parseResult.GetValue(dtype)!,
                Seed = parseResult.GetValue(seed),
                Threads = parseResult.GetValue(threads),
                Resume = parseResult.GetValue(resume),
                TokenCacheDirectory = parseResult.GetValue(tokenCache),
            };
            options.Validate();
            var result = await ProgressDisplay.RunAsync<XcTrainProgress, XcTrainResult>(
                console,
                "training",
                "batches",
                p => (((long)(p.Epoch - 1) * p.Batches) + p.Batch, (long)p.Epochs * Math.Max(1, p.Batches)),
                progress => XcTrainer.RunAsync(options, progress, cancellationToken),
                r => r.Records.Count > 0 ? r.Records[^1].Steps : 0).ConfigureAwait(false);
            Render(console, result);
            return 0;
        });
        return command;
    }

    private static void Render(IAnsiConsole console, XcTrainResult result)
    {
        // Narrow enough for an 80-column terminal: the learning rate and the rest are in train_log.csv.
        var table = new Table { Caption = new TableTitle("validation metrics in %, on held-out train points") }
            .AddColumns("epoch", "loss", "ex/s").AddColumns([.. TrainLog.ValidationMetrics]);
        foreach (var record in result.Records)
        {
            table.AddRow([
                record.Epoch.ToString(CultureInfo.InvariantCulture),
                double.IsFinite(record.Loss) ? record.Loss.ToString("F4", CultureInfo.InvariantCulture) : "-",
                record.ExamplesPerSecond.ToString("F0", CultureInfo.InvariantCulture),
                .. TrainLog.ValidationMetrics.Select(m => record.Validation.TryGetValue(m, out var v) && double.IsFinite(v) ? (v * 100).ToString("F2", CultureInfo.InvariantCulture) : "-"),
            ]);
        }
        console.Write(table);
        var resumed = result.ResumedFromEpoch > 0 ? $", resumed after epoch {result.ResumedFromEpoch}" : "";
        console.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"trained on {result.TrainRows:N0} points ({result.ValidationRows:N0} held out, {result.RowsWithoutLabels:N0} without labels skipped) in {result.Elapsed.TotalSeconds:F1} s{resumed}; encoder in {result.EncoderDirectory}");
    }
}
