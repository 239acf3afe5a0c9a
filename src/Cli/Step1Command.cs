using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Stages;
using Skim.Generate.Step1;
using Skim.Models.Devices;
using Skim.Pipelines.Running;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim run step-1</c>: the fine-tuned SLM writes synthetic queries (or categories) for every item
/// of a dataset, sharded and resumable, into <c>raw_rewrites.txt</c> + <c>start_indices.npy</c> for
/// step-2, with the raw generations in <c>generations.parquet</c>.
/// </summary>
internal static class Step1Command
{
    /// <summary>Builds the command.</summary>
    public static Command Create(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var defaults = new Step1Options { DatasetDirectory = "", ModelDirectory = "", TemplatePath = "", OutputDirectory = "" };
        var dataset = new Option<string>("--dataset", "-d") { Description = "The dataset folder (DEXML or XC layout).", Required = true };
        var model = new Option<string>("--model", "-m") { Description = "The fine-tuned SLM: a merged Hugging Face checkpoint folder with its tokenizer (step-0's output).", Required = true };
        var template = new Option<string>("--template", "-t") { Description = "The prompt template step-0 fine-tuned with, e.g. prompts/query-generation.txt.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The output folder, e.g. artifacts/slm-generations/<dataset>: outputs, manifest.json, shards/.", Required = true };
        var orientation = new Option<string>("--orientation") { Description = "query-side (one prompt per label) or label-side (one per training document).", DefaultValueFactory = _ => "query-side" };
        var field = new Option<string[]>("--field") { Description = "Fill template placeholder P from item field F, as P=F (repeatable; fields: uid, title, content, text, url, known_queries).", AllowMultipleArgumentsPerToken = false };
        var backend = new Option<string>("--backend") { Description = "Engine: auto (the fastest allowed, measured on a few prompts), torch, llamasharp or openai.", DefaultValueFactory = _ => defaults.Backend };
        var quant = new Option<string>("--quant") { Description = "GGUF type of the llamasharp engine: f32, f16, q8_0, q4_0 or q4_k_m.", DefaultValueFactory = _ => defaults.Quant };
        var allowQuant = new Option<string?>("--allow-quant") { Description = "Quantised GGUF types auto may choose, comma-separated (e.g. q8_0,q4_0); none by default, since quantisation changes outputs." };
        var dtype = new Option<string>("--dtype") { Description = "Torch engine weights: float32 or bfloat16.", DefaultValueFactory = _ => defaults.DType };
        var device = new Option<string>("--device") { Description = $"Torch engine device: {TorchDevices.DeviceChoices}.", DefaultValueFactory = _ => defaults.Device };
        var threads = new Option<int>("--threads") { Description = "CPU threads of the local engines (0 = their default).", DefaultValueFactory = _ => defaults.Threads };
        var batchSize = new Option<int>("--batch-size") { Description = "Prompts continued together (halved on out-of-memory).", DefaultValueFactory = _ => defaults.BatchSize };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Most tokens generated per item.", DefaultValueFactory = _ => defaults.MaxNewTokens };
        var maxPromptTokens = new Option<int>("--max-prompt-tokens") { Description = "Most tokens each field value keeps in a prompt (SLM tokenizer).", DefaultValueFactory = _ => defaults.MaxPromptTokens };
        var maxKnown = new Option<int>("--max-known-queries") { Description = "Most known queries (or labels) a prompt lists.", DefaultValueFactory = _ => defaults.MaxKnownQueries };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 decodes greedily.", DefaultValueFactory = _ => defaults.Temperature };
        var topK = new Option<int>("--top-k") { Description = "Keep only the k most likely tokens; 0 keeps all.", DefaultValueFactory = _ => defaults.TopK };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass; 1 turns it off.", DefaultValueFactory = _ => defaults.TopP };
        var seed = new Option<long>("--seed") { Description = "Run seed; item i samples with a seed derived from it and i, so outputs do not depend on batching or sharding.", DefaultValueFactory = _ => defaults.Seed };
        var stop = new Option<string[]>("--stop") { Description = "Stop string (repeatable); the text is cut before it.", AllowMultipleArgumentsPerToken = false };
        var shard = new Option<string>("--shard") { Description = "Generate shard K of N of the items (0-based K/N) into OUT/shards/K-of-N; join with skim merge step-1 OUT.", DefaultValueFactory = _ => defaults.Shard };
        var start = new Option<long>("--start") { Description = "First item of the job.", DefaultValueFactory = _ => defaults.Start };
        var end = new Option<long?>("--end") { Description = "Item after the job's last (default: all items)." };
        var maxQueries = new Option<int>("--max-queries-per-item") { Description = "Most queries kept per item (0 = all).", DefaultValueFactory = _ => defaults.MaxQueriesPerItem };
        var maxQueryLength = new Option<int>("--max-query-length") { Description = "Most characters a kept query may have.", DefaultValueFactory = _ => defaults.MaxQueryLength };
        var endpoint = new Option<string?>("--endpoint") { Description = "openai engine: the server's API base, e.g. http://localhost:8000/v1 (key from OPENAI_API_KEY)." };
        var servedModel = new Option<string?>("--served-model") { Description = "openai engine: the model name to ask the server for." };
        var concurrency = new Option<int>("--concurrency") { Description = "openai engine: requests in flight.", DefaultValueFactory = _ => defaults.Concurrency };
        var force = new Option<bool>("--force") { Description = "Replace a run of other options in the output folder, or run again when up to date." };
        var command = new Command("step-1", "Generate synthetic queries (or categories) for every item with the fine-tuned SLM: sharded, resumable, SKIM's raw_rewrites.txt + start_indices.npy.")
        {
            dataset, model, template, output, orientation, field, backend, quant, allowQuant, dtype, device, threads, batchSize, maxNewTokens, maxPromptTokens, maxKnown,
            temperature, topK, topP, seed, stop, shard, start, end, maxQueries, maxQueryLength, endpoint, servedModel, concurrency, force,
        };
        command.SetAction(async (parse, ct) =>
        {
            var options = new Step1Options
            {
                DatasetDirectory = parse.GetValue(dataset)!,
                ModelDirectory = parse.GetValue(model)!,
                TemplatePath = parse.GetValue(template)!,
                OutputDirectory = parse.GetValue(output)!,
                Orientation = ParseOrientation(parse.GetValue(orientation)!),
                Fields = ParseFields(parse.GetValue(field) ?? []),
                Backend = parse.GetValue(backend)!,
                Quant = parse.GetValue(quant)!,
                AllowQuant = parse.GetValue(allowQuant)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
                DType = parse.GetValue(dtype)!,
                Device = parse.GetValue(device)!,
                Threads = parse.GetValue(threads),
                BatchSize = parse.GetValue(batchSize),
                MaxNewTokens = parse.GetValue(maxNewTokens),
                MaxPromptTokens = parse.GetValue(maxPromptTokens),
                MaxKnownQueries = parse.GetValue(maxKnown),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                Seed = parse.GetValue(seed),
                StopStrings = parse.GetValue(stop) ?? [],
                Shard = parse.GetValue(shard)!,
                Start = parse.GetValue(start),
                End = parse.GetValue(end),
                MaxQueriesPerItem = parse.GetValue(maxQueries),
                MaxQueryLength = parse.GetValue(maxQueryLength),
                Endpoint = parse.GetValue(endpoint),
                ServedModel = parse.GetValue(servedModel),
                Concurrency = parse.GetValue(concurrency),
            };
            var stage = new Step1Stage();
            var forced = parse.GetValue(force);
            RefuseAnotherRun(stage, options, forced);
            var outcome = await ProgressDisplay.RunAsync<StageProgress, StageOutcome>(
                console,
                "step-1",
                "items",
                p => (p.Done, p.Total),
                progress => StageExecution.RunAsync(stage, options, forced, progress, ct),
                o => Long(o.Summary, "items")).ConfigureAwait(false);
            Render(console, options, outcome);
            return 0;
        });
        return command;
    }

    /// <summary>Prints a step-1 summary (a run's or a merge's) as a table.</summary>
    internal static void RenderSummary(IAnsiConsole console, JsonObject summary)
    {
        var table = new Table().AddColumn("").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("items", Invariant($"{Long(summary, "items"):N0}"));
        table.AddRow("queries", Invariant($"{Long(summary, "queries"):N0}"));
        table.AddRow("queries per item (min / median / max)", Invariant($"{Long(summary, "queries_per_item_min")} / {Number(summary, "queries_per_item_median"):0.#} / {Long(summary, "queries_per_item_max")}"));
        table.AddRow("items without queries", Invariant($"{Long(summary, "items_without_queries"):N0}"));
        if (summary["dropped"] is JsonObject dropped)
        {
            foreach (var (reason, count) in dropped)
            {
                table.AddRow(Markup.Escape($"dropped: {reason.Replace('_', ' ')}"), Invariant($"{Long(dropped, reason):N0}"));
            }
        }
        table.AddRow("prompt tokens", Invariant($"{Long(summary, "prompt_tokens"):N0}"));
        table.AddRow("generated tokens", Invariant($"{Long(summary, "generated_tokens"):N0}"));
        if (summary["generated_tokens_per_second"] is not null)
        {
            table.AddRow("prompt / generated tokens/s (this run)", Invariant($"{Number(summary, "prompt_tokens_per_second"):F0} / {Number(summary, "generated_tokens_per_second"):F0}"));
        }
        if (summary["backends"] is JsonArray backends)
        {
            table.AddRow("backend", Markup.Escape(string.Join("; ", backends.Select(b => b?.GetValue<string>()))));
        }
        console.Write(table);
    }

    private static void RefuseAnotherRun(Step1Stage stage, Step1Options options, bool force)
    {
        if (force)
        {
            return;
        }
        var decision = StageExecution.Plan(stage, options);
        var directory = Step1Layout.RunDirectory(options);
        if (decision.Action == StageAction.Rerun)
        {
            throw new SkimConfigException($"{directory}: holds another step-1 run ({decision.Reason}); pass --force to replace it, or choose another --out");
        }
        // A folder without a manifest is a run only if empty (shards of this job may sit in shards/).
        if (decision.Action == StageAction.Run && Directory.Exists(directory)
            && Directory.EnumerateFileSystemEntries(directory).Any(e => Path.GetFileName(e) != Step1Layout.ShardsFolder))
        {
            throw new SkimConfigException($"{directory}: holds files but no step-1 manifest; choose an empty or new --out (or pass --force to write into it)");
        }
    }

    private static void Render(IAnsiConsole console, Step1Options options, StageOutcome outcome)
    {
        var directory = Step1Layout.RunDirectory(options);
        console.WriteLine(outcome.Decision.Action == StageAction.Skip
            ? $"step-1 skipped ({outcome.Decision.Reason}): {directory}"
            : Invariant($"step-1 {(outcome.Decision.Action == StageAction.Resume ? "resumed and finished" : "finished")} in {outcome.Elapsed.TotalSeconds:F1} s: {directory}"));
        if (options.ParseShard().Count > 1)
        {
            var summary = outcome.Summary;
            console.WriteLine(Invariant($"shard {options.Shard}: {Long(summary, "items"):N0} items from item {Long(summary, "first_item"):N0}, {Long(summary, "generated_tokens"):N0} tokens generated; when every shard is done: skim merge step-1 {options.OutputDirectory}"));
            return;
        }
        RenderSummary(console, outcome.Summary);
    }

    private static MappingOrientation ParseOrientation(string value) => value.Trim().ToLowerInvariant() switch
    {
        "query-side" or "query" => MappingOrientation.QuerySide,
        "label-side" or "label" => MappingOrientation.LabelSide,
        _ => throw new SkimConfigException($"--orientation '{value}': expected query-side or label-side"),
    };

    private static Dictionary<string, string> ParseFields(string[] values)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || equals == value.Length - 1)
            {
                throw new SkimConfigException($"--field '{value}': expected PLACEHOLDER=FIELD, e.g. page_text=text");
            }
            fields[value[..equals].Trim()] = value[(equals + 1)..].Trim();
        }
        return fields;
    }

    // Summaries hold ints, longs and doubles, or JSON elements when read back from a manifest: the JSON text reads them all.
    private static long Long(JsonObject summary, string key) =>
        summary[key] is JsonValue v && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? (long)n : 0;

    private static double Number(JsonObject summary, string key) =>
        summary[key] is JsonValue v && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
