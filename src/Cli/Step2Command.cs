using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Stages;
using Skim.MapQueries.Step2;
using Skim.Models.Devices;
using Skim.Models.Encoders;
using Skim.Pipelines.Running;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim run step-2</c>: embeds step-1's synthetic texts and the dataset's training queries (or
/// labels), maps each synthetic text to its exact nearest neighbours, and writes
/// <c>trn_X_Y_skim.npz</c> with an augmentation report.
/// </summary>
internal static class Step2Command
{
    /// <summary>Builds the command.</summary>
    public static Command Create(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var defaults = new Step2Options { DatasetDirectory = "", GenerationsDirectory = "", Encoder = "", OutputDirectory = "" };
        var dataset = new Option<string>("--dataset", "-d") { Description = "Dataset folder (XC or DEXML layout); its observed train matrix is augmented.", Required = true };
        var generations = new Option<string>("--generations", "-g") { Description = "Folder with step-1's raw_rewrites.txt and start_indices.npy.", Required = true };
        var encoder = new Option<string>("--encoder", "-e")
        {
            Description = "Mapping encoder: a Hugging Face BERT/DistilBERT folder, a folder with NGAME's ngame_state_dict.pt beside its config and tokenizer, or a skim train run folder.",
            Required = true,
        };
        var orientation = new Option<string>("--orientation")
        {
            Description = "query-side (synthetic queries per label, matched to training queries) or label-side (synthetic labels per training point, matched to labels).",
            DefaultValueFactory = _ => "query-side",
        };
        var topK = new Option<int>("--top-k") { Description = "Neighbours of each synthetic text the rule considers.", DefaultValueFactory = _ => defaults.TopK };
        var threshold = new Option<float>("--threshold") { Description = "Smallest rescaled score (s + 1) / 2, in [0, 1], that makes a pair.", DefaultValueFactory = _ => defaults.Threshold };
        var knn = new Option<int>("--knn") { Description = "Neighbours searched and stored per synthetic text.", DefaultValueFactory = _ => defaults.Knn };
        var sweep = new Option<string?>("--sweep") { Description = "Extra TOPK:THRESHOLD settings mapped from the same neighbours, e.g. 5:0.8,10:0.9 (each into sweep/kK-tT/)." };
        var device = new Option<string>("--device") { Description = $"Device: {TorchDevices.DeviceChoices}.", DefaultValueFactory = _ => defaults.Device };
        var shard = new Option<string?>("--shard") { Description = "Embed and search only shard K/N (0-based) of the synthetic rows into OUT/shards/K-of-N; a later run without --shard merges the shards." };
        var force = new Option<bool>("--force") { Description = "Run again even when the output folder's manifest says it is up to date." };
        var output = new Option<string>("--out", "-o") { Description = "Output folder, e.g. artifacts/skim-augmented-datasets/DATASET.", Required = true };
        var pooling = new Option<string?>("--pooling") { Description = "mean or cls. Defaults to the encoder's skim_encoder.json, else mean (NGAME)." };
        var normalize = new Option<bool?>("--normalize") { Description = "L2-normalise embeddings (true|false). Defaults to the encoder's skim_encoder.json, else true (NGAME)." };
        var maxLength = new Option<int>("--max-len") { Description = "Tokens per text, special tokens included.", DefaultValueFactory = _ => defaults.MaxLength };
        var batchSize = new Option<int>("--batch-size", "-b") { Description = "Texts per forward pass.", DefaultValueFactory = _ => defaults.BatchSize };
        var embeddingDType = new Option<string>("--embedding-dtype") { Description = "Dtype of the stored embeddings: float32|float16.", DefaultValueFactory = _ => defaults.EmbeddingDType };
        var chunkRows = new Option<int>("--chunk-rows") { Description = "Rows per durable chunk (the unit of resume and of shards).", DefaultValueFactory = _ => defaults.ChunkRows };
        var sampleSize = new Option<int>("--sample-size") { Description = "Mappings sampled into the report.", DefaultValueFactory = _ => defaults.SampleSize };
        var command = new Command("step-2", "Map synthetic texts to training queries (or labels) with a pretrained encoder and exact kNN, and write trn_X_Y_skim.npz with a report.")
        {
            dataset, generations, encoder, orientation, topK, threshold, knn, sweep, device, shard, force, output,
            pooling, normalize, maxLength, batchSize, embeddingDType, chunkRows, sampleSize,
        };
        command.SetAction(async (parse, ct) =>
        {
            var poolingValue = parse.GetValue(pooling);
            var sweepValue = parse.GetValue(sweep);
            var options = new Step2Options
            {
                DatasetDirectory = parse.GetValue(dataset)!,
                GenerationsDirectory = parse.GetValue(generations)!,
                Encoder = parse.GetValue(encoder)!,
                Orientation = ParseOrientation(parse.GetValue(orientation)!),
                TopK = parse.GetValue(topK),
                Threshold = parse.GetValue(threshold),
                Knn = parse.GetValue(knn),
                Sweep = string.IsNullOrWhiteSpace(sweepValue) ? null : Step2SweepPoint.ParseList(sweepValue),
                Device = parse.GetValue(device)!,
                Shard = parse.GetValue(shard),
                OutputDirectory = parse.GetValue(output)!,
                Pooling = poolingValue is null ? null : Pooling.Parse(poolingValue),
                Normalize = parse.GetValue(normalize),
                MaxLength = parse.GetValue(maxLength),
                BatchSize = parse.GetValue(batchSize),
                EmbeddingDType = parse.GetValue(embeddingDType)!,
                ChunkRows = parse.GetValue(chunkRows),
                SampleSize = parse.GetValue(sampleSize),
            };
            var stage = new Step2Stage();
            var outcome = await ProgressDisplay.RunAsync<StageProgress, StageOutcome>(
                console,
                "step-2",
                "rows",
                p => (p.Done, p.Total),
                progress => StageExecution.RunAsync(stage, options, parse.GetValue(force), progress, ct),
                _ => 0).ConfigureAwait(false);
            Render(console, options, outcome);
            return 0;
        });
        return command;
    }

    /// <summary>Parses <c>--orientation</c>: query-side (or query) and label-side (or label).</summary>
    internal static MappingOrientation ParseOrientation(string value) => value.Trim().ToLowerInvariant() switch
    {
        "query-side" or "query" => MappingOrientation.QuerySide,
        "label-side" or "label" => MappingOrientation.LabelSide,
        _ => throw new SkimConfigException($"--orientation '{value}': expected query-side or label-side"),
    };

    private static void Render(IAnsiConsole console, Step2Options options, StageOutcome outcome)
    {
        var summary = outcome.Summary;
        var directory = options.Shard is null ? options.OutputDirectory : "its shard folder";
        console.WriteLine(outcome.Decision.Action == StageAction.Skip
            ? $"step-2 skipped ({outcome.Decision.Reason}): {options.OutputDirectory}"
            : Invariant($"step-2 {(outcome.Decision.Action == StageAction.Resume ? "resumed and finished" : "finished")} in {outcome.Elapsed.TotalSeconds:F1} s: {directory}"));
        if (options.Shard is not null)
        {
            console.WriteLine(Invariant($"shard {options.Shard}: {Long(summary, "shard_rows"):N0} synthetic rows from row {Long(summary, "shard_first_row"):N0}; run without --shard to merge"));
            return;
        }
        var table = new Table().AddColumn("").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("synthetic texts", Invariant($"{Long(summary, "synthetic_queries"):N0}"));
        table.AddRow("targets", Invariant($"{Long(summary, "targets"):N0}"));
        table.AddRow("pairs before", Invariant($"{Long(summary, "pairs_before"):N0}"));
        table.AddRow("pairs after", Invariant($"{Long(summary, "pairs_after"):N0}"));
        table.AddRow("pairs added", Invariant($"{Long(summary, "pairs_added"):N0}"));
        table.AddRow("labels gaining a first point", Invariant($"{Long(summary, "labels_gaining_first_point"):N0}"));
        if (summary["precision"] is not null)
        {
            table.AddRow("precision vs full", Percent(summary, "precision"));
            table.AddRow("recall vs full", Percent(summary, "recall"));
            table.AddRow("random-guess precision", Percent(summary, "random_precision"));
        }
        console.Write(table);
        if (summary["deciles"] is JsonArray deciles)
        {
            var decileTable = new Table().AddColumn("label decile (1 = head)")
                .AddColumn(new TableColumn("labels").RightAligned())
                .AddColumn(new TableColumn("pairs before").RightAligned())
                .AddColumn(new TableColumn("pairs added").RightAligned());
            foreach (var decile in deciles.OfType<JsonObject>())
            {
                decileTable.AddRow(Invariant($"{Long(decile, "decile")}"), Invariant($"{Long(decile, "labels"):N0}"), Invariant($"{Long(decile, "pairs_before"):N0}"), Invariant($"{Long(decile, "pairs_added"):N0}"));
            }
            console.Write(decileTable);
        }
        if (summary["sweep"] is JsonArray sweep)
        {
            var sweepTable = new Table().AddColumn("top_k").AddColumn("threshold")
                .AddColumn(new TableColumn("pairs added").RightAligned())
                .AddColumn(new TableColumn("precision").RightAligned())
                .AddColumn(new TableColumn("recall").RightAligned());
            foreach (var point in sweep.OfType<JsonObject>())
            {
                sweepTable.AddRow(
                    Invariant($"{Long(point, "top_k")}"),
                    Number(point, "threshold").ToString("0.###", CultureInfo.InvariantCulture),
                    Invariant($"{Long(point, "pairs_added"):N0}"),
                    point["precision"] is null ? "-" : Percent(point, "precision"),
                    point["recall"] is null ? "-" : Percent(point, "recall"));
            }
            console.Write(sweepTable);
        }
    }

    // Read through the JSON text: a summary fresh from the stage holds int, long, float and double
    // values, one read back from a manifest holds JSON numbers, and GetValue<T> would not convert both.
    private static long Long(JsonObject node, string key) => (long)Number(node, key);

    private static double Number(JsonObject node, string key) =>
        node[key] is { } value ? double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture) : 0;

    private static string Percent(JsonObject node, string key) =>
        (Number(node, key) * 100).ToString("F2", CultureInfo.InvariantCulture) + " %";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
