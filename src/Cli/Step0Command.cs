using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Stages;
using Skim.Distill.FineTuning;
using Skim.Distill.Responses;
using Skim.Distill.Step0;
using Skim.Distill.Teachers;
using Skim.Pipelines.Running;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim run step-0</c>: asks a teacher LLM (or the local-extractive stand-in) to write synthetic
/// queries for a sample of items and turns the answers into SFT data, through
/// <see cref="Step0Stage"/> and <see cref="StageExecution"/> (so a pipeline runs it the same way).
/// The API key is never a flag: it is read from the environment variable --api-key-variable names.
/// </summary>
internal static class Step0Command
{
    /// <summary>Builds the <c>step-0</c> command.</summary>
    public static Command Create(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var defaults = new Step0Options { DatasetDirectory = "", TemplatePath = "", OutputDirectory = "", Teacher = "" };
        var dataset = new Option<string>("--dataset", "-d") { Description = "The dataset folder (XC or DEXML layout).", Required = true };
        var template = new Option<string>("--template") { Description = "The prompt template, e.g. prompts/query-generation.txt.", Required = true };
        var teacher = new Option<string>("--teacher") { Description = "azure, openai, compatible (any OpenAI-compatible server) or local-extractive (no LLM: phrases from the item's own text, for demos).", Required = true };
        teacher.AcceptOnlyFromAmong([.. TeacherClientOptions.Kinds]);
        var output = new Option<string>("--out", "-o") { Description = "The output folder: prompts.jsonl, responses.jsonl, sft/train.json, sft/val.json, manifest.json.", Required = true };
        var endpoint = new Option<string?>("--endpoint") { Description = "Azure resource URL, or an OpenAI-compatible base URL such as http://localhost:8000/v1." };
        var model = new Option<string?>("--model") { Description = "The teacher model (azure: defaults to the deployment)." };
        var deployment = new Option<string?>("--deployment") { Description = "The Azure deployment." };
        var apiVersion = new Option<string>("--api-version") { Description = "The Azure API version.", DefaultValueFactory = _ => defaults.ApiVersion };
        var keyVariable = new Option<string?>("--api-key-variable") { Description = "The environment variable holding the API key (default OPENAI_API_KEY for openai, AZURE_OPENAI_API_KEY for azure, none for compatible)." };
        var items = new Option<int?>("--items") { Description = "Items to sample (default: all, or --fraction)." };
        var fraction = new Option<double?>("--fraction") { Description = "Share of items to sample, in (0, 1]." };
        var stratified = new Option<bool>("--stratified") { Description = "Sample evenly across label-frequency deciles so tail labels are represented." };
        var orientation = new Option<string>("--orientation") { Description = "query-side (an item per label) or label-side (an item per train document).", DefaultValueFactory = _ => "query-side" };
        orientation.AcceptOnlyFromAmong("query-side", "label-side");
        var fields = new Option<string[]>("--field") { Description = "Map a template placeholder to an item field (uid, title, content, text, url, known_queries): PLACEHOLDER=FIELD, repeatable." };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight at most.", DefaultValueFactory = _ => defaults.Concurrency };
        var rpm = new Option<int>("--requests-per-minute") { Description = "Requests started per minute at most (0: no limit).", DefaultValueFactory = _ => defaults.RequestsPerMinute };
        var tpm = new Option<int>("--tokens-per-minute") { Description = "Tokens (prompt estimate + max tokens) per minute at most (0: no limit).", DefaultValueFactory = _ => defaults.TokensPerMinute };
        var timeout = new Option<double>("--timeout") { Description = "Seconds one attempt may take before it is retried.", DefaultValueFactory = _ => defaults.TimeoutSeconds };
        var retries = new Option<int>("--max-retries") { Description = "Retries on 429, 5xx, timeouts and dropped connections.", DefaultValueFactory = _ => defaults.MaxRetries };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens per completion at most.", DefaultValueFactory = _ => defaults.MaxTokens };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => defaults.Temperature };
        var n = new Option<int>("--n") { Description = "Completions per prompt.", DefaultValueFactory = _ => defaults.N };
        var stop = new Option<string[]>("--stop") { Description = "A stop sequence (repeatable, at most 4)." };
        var system = new Option<string?>("--system-message") { Description = "A system message sent before each prompt." };
        var seed = new Option<long>("--seed") { Description = "Seed of the sample and of the train/validation split.", DefaultValueFactory = _ => defaults.Seed };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "The SLM's tokenizer folder, to cut item text by tokens (default: by characters)." };
        var maxPromptTokens = new Option<int>("--max-prompt-tokens") { Description = "Tokens each field value keeps in a prompt.", DefaultValueFactory = _ => defaults.MaxPromptTokens };
        var validation = new Option<double>("--validation-fraction") { Description = "Share of SFT records held out for validation.", DefaultValueFactory = _ => defaults.ValidationFraction };
        var priceIn = new Option<double>("--price-input") { Description = "Price per 1,000 prompt tokens, for the cost estimate.", DefaultValueFactory = _ => 0 };
        var priceOut = new Option<double>("--price-output") { Description = "Price per 1,000 completion tokens, for the cost estimate.", DefaultValueFactory = _ => 0 };
        var import = new Option<string?>("--import") { Description = "A folder of SKIM's provided responses (responses_START_to_END.json) to import as answered requests." };
        var mode = new Option<string>("--mode") { Description = "live (requests one by one) or batch (the Batch API: upload, submit, poll, import; cheaper, answered within 24 h; a stopped run resumes its batches).", DefaultValueFactory = _ => defaults.Mode };
        mode.AcceptOnlyFromAmong(Step0Options.Live, Step0Options.Batch);
        var pollInterval = new Option<double>("--poll-interval") { Description = "Seconds between two status reads of a batch (batch mode).", DefaultValueFactory = _ => defaults.PollIntervalSeconds };
        var maxWait = new Option<double>("--max-wait") { Description = "Hours to wait for the batches before stopping; they keep running and the same command resumes (batch mode).", DefaultValueFactory = _ => defaults.BatchMaxWaitHours };
        var force = new Option<bool>("--force") { Description = "Run again even when the folder's manifest says it is up to date (stored answers are then discarded)." };
        // Fine-tuning is its own stage (kind finetune in pipelines); --finetune runs it right after.
        var tuneDefaults = new FineTuneOptions { SftDirectory = "", BaseModelDirectory = "", OutputDirectory = "" };
        var finetune = new Option<bool>("--finetune") { Description = "Then fine-tune the small LM on the SFT data (needs --base-model)." };
        var baseModel = new Option<string?>("--base-model") { Description = "The small LM to fine-tune: a Hugging Face Llama/Mistral/Qwen2 folder with its tokenizer." };
        var tuneOut = new Option<string?>("--finetune-out") { Description = "Where the fine-tuned model goes. Defaults to finetuned/ inside --out." };
        var method = new Option<string>("--method") { Description = "lora or full.", DefaultValueFactory = _ => "lora" };
        method.AcceptOnlyFromAmong("lora", "full");
        var tuneEpochs = new Option<int>("--epochs") { Description = "Fine-tuning epochs.", DefaultValueFactory = _ => tuneDefaults.Epochs };
        var tuneLr = new Option<double>("--lr") { Description = "Peak fine-tuning learning rate (cosine decay to a tenth of it).", DefaultValueFactory = _ => tuneDefaults.LearningRate };
        var microBatch = new Option<int>("--micro-batch") { Description = "Sequences per forward pass.", DefaultValueFactory = _ => tuneDefaults.MicroBatchSize };
        var globalBatch = new Option<int>("--global-batch") { Description = "Sequences per optimizer step.", DefaultValueFactory = _ => tuneDefaults.GlobalBatchSize };
        var warmup = new Option<int>("--warmup-steps") { Description = "Linear warm-up steps.", DefaultValueFactory = _ => tuneDefaults.WarmupSteps };
        var command = new Command("step-0", "Step 0 (distill, teacher side): a teacher LLM writes queries for sampled items; the answers become SFT data.")
        {
            dataset, template, teacher, output, endpoint, model, deployment, apiVersion, keyVariable, items, fraction, stratified, orientation, fields,
            concurrency, rpm, tpm, timeout, retries, maxTokens, temperature, n, stop, system, seed, tokenizer, maxPromptTokens, validation, priceIn, priceOut, import, mode, pollInterval, maxWait, force,
            finetune, baseModel, tuneOut, method, tuneEpochs, tuneLr, microBatch, globalBatch, warmup,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new Step0Options
            {
                DatasetDirectory = parseResult.GetValue(dataset)!,
                TemplatePath = parseResult.GetValue(template)!,
                OutputDirectory = parseResult.GetValue(output)!,
                Teacher = parseResult.GetValue(teacher)!,
                Endpoint = parseResult.GetValue(endpoint),
                Model = parseResult.GetValue(model),
                Deployment = parseResult.GetValue(deployment),
                ApiVersion = parseResult.GetValue(apiVersion)!,
                ApiKeyVariable = parseResult.GetValue(keyVariable),
                Items = parseResult.GetValue(items),
                Fraction = parseResult.GetValue(fraction),
                Stratified = parseResult.GetValue(stratified),
                Orientation = parseResult.GetValue(orientation) == "label-side" ? MappingOrientation.LabelSide : MappingOrientation.QuerySide,
                Fields = ParseFields(parseResult.GetValue(fields)),
                Concurrency = parseResult.GetValue(concurrency),
                RequestsPerMinute = parseResult.GetValue(rpm),
                TokensPerMinute = parseResult.GetValue(tpm),
                TimeoutSeconds = parseResult.GetValue(timeout),
                MaxRetries = parseResult.GetValue(retries),
                MaxTokens = parseResult.GetValue(maxTokens),
                Temperature = parseResult.GetValue(temperature),
                N = parseResult.GetValue(n),
                Stop = parseResult.GetValue(stop) ?? [],
                SystemMessage = parseResult.GetValue(system),
                Seed = parseResult.GetValue(seed),
                TokenizerDirectory = parseResult.GetValue(tokenizer),
                MaxPromptTokens = parseResult.GetValue(maxPromptTokens),
                ValidationFraction = parseResult.GetValue(validation),
                Prices = new TokenPrices { InputPer1K = parseResult.GetValue(priceIn), OutputPer1K = parseResult.GetValue(priceOut) },
                ImportDirectory = parseResult.GetValue(import),
                Mode = parseResult.GetValue(mode)!,
                PollIntervalSeconds = parseResult.GetValue(pollInterval),
                BatchMaxWaitHours = parseResult.GetValue(maxWait),
            };
            FineTuneOptions? tune = null;
            if (parseResult.GetValue(finetune))
            {
                var lr = parseResult.GetValue(tuneLr);
                tune = new FineTuneOptions
                {
                    SftDirectory = Path.Combine(options.OutputDirectory, Step0Stage.SftFolder),
                    BaseModelDirectory = parseResult.GetValue(baseModel) ?? throw new SkimConfigException("--finetune needs --base-model DIR (the small LM to fine-tune)"),
                    OutputDirectory = parseResult.GetValue(tuneOut) ?? Path.Combine(options.OutputDirectory, "finetuned"),
                    Method = parseResult.GetValue(method) == "full" ? FineTuneMethod.Full : FineTuneMethod.Lora,
                    Epochs = parseResult.GetValue(tuneEpochs),
                    LearningRate = lr,
                    MinLearningRate = lr / 10,
                    MicroBatchSize = parseResult.GetValue(microBatch),
                    GlobalBatchSize = parseResult.GetValue(globalBatch),
                    WarmupSteps = parseResult.GetValue(warmup),
                    Seed = options.Seed,
                };
                // Both stages' options are checked before the teacher is paid for anything.
                tune.Validate();
            }
            var stage = new Step0Stage();
            var outcome = await ProgressDisplay.RunAsync<StageProgress, StageOutcome>(
                console,
                "teacher",
                "requests",
                p => (p.Done, p.Total),
                progress => StageExecution.RunAsync(stage, options, parseResult.GetValue(force), progress, cancellationToken),
                o => (long)Number(o.Summary["requests"])).ConfigureAwait(false);
            Render(console, outcome, options.OutputDirectory);
            if (tune is not null)
            {
                var tuned = await ProgressDisplay.RunAsync<StageProgress, StageOutcome>(
                    console,
                    "fine-tuning",
                    "steps",
                    p => (p.Done, p.Total),
                    progress => StageExecution.RunAsync(new FineTuneStage(), tune, parseResult.GetValue(force), progress, cancellationToken),
                    o => (long)Number(o.Summary["steps"])).ConfigureAwait(false);
                var summary = tuned.Summary;
                console.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                    $"fine-tuned ({tuned.Decision.Reason}): {Number(summary["steps"]):F0} steps, val loss {Number(summary["first_val_loss"]):F3} -> {Number(summary["final_val_loss"]):F3}; model in {tune.OutputDirectory}");
            }
            return 0;
        });
        return command;
    }

    // Summary numbers are ints, longs or doubles when fresh and JSON elements when read from a manifest.
    private static double Number(JsonNode? node) =>
        node is JsonValue ? double.Parse(node.ToJsonString(), CultureInfo.InvariantCulture) : 0;

    private static Dictionary<string, string>? ParseFields(string[]? pairs)
    {
        if (pairs is null || pairs.Length == 0)
        {
            return null;
        }
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || equals == pair.Length - 1)
            {
                throw new SkimConfigException($"--field: expected PLACEHOLDER=FIELD, found '{pair}'");
            }
            map[pair[..equals].Trim()] = pair[(equals + 1)..].Trim();
        }
        return map;
    }

    private static void Render(IAnsiConsole console, StageOutcome outcome, string folder)
    {
        var s = outcome.Summary;
        string N(string key) => s[key] is JsonValue ? Number(s[key]).ToString("N0", CultureInfo.InvariantCulture) : "-";
        string Reasons(string key) => s[key] is JsonObject o && o.Count > 0
            ? string.Join(", ", o.Where(p => Number(p.Value) > 0).Select(p => $"{p.Key} {Number(p.Value).ToString(CultureInfo.InvariantCulture)}"))
            : "";
        var table = new Table().AddColumns("", "count", "detail");
        table.AddRow("items sampled", N("items_sampled"), $"of {N("items_total")}; {N("items_without_metadata")} without metadata skipped; {N("items_imported")} imported");
        table.AddRow("requests sent", N("requests_sent"), $"{N("requests_reused")} reused from earlier runs");
        if (s["batches"] is JsonValue)
        {
            table.AddRow("batches", N("batches"), $"{N("batches_adopted")} found on the server after a stop; {N("requests_left_for_next_run")} requests of expired or cancelled batches left for the next run");
        }
        table.AddRow("answered", N("requests_answered"), "");
        table.AddRow("failed", N("requests_failed"), Markup.Escape(Reasons("failure_reasons")));
        table.AddRow("tokens", (Number(s["input_tokens"]) + Number(s["output_tokens"])).ToString("N0", CultureInfo.InvariantCulture), $"{N("input_tokens")} in, {N("output_tokens")} out; cost {Number(s["cost"]).ToString("F2", CultureInfo.InvariantCulture)}");
        table.AddRow("SFT records", (Number(s["sft_train"]) + Number(s["sft_val"])).ToString("N0", CultureInfo.InvariantCulture), $"{N("sft_train")} train, {N("sft_val")} val; dropped: {Markup.Escape(Reasons("sft_dropped"))}");
        console.Write(table);
        if (s["warnings"] is JsonArray warnings)
        {
            foreach (var warning in warnings)
            {
                console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[yellow]warning:[/] {warning!.GetValue<string>()}");
            }
        }
        var what = outcome.Decision.Action == StageAction.Skip ? $"up to date, nothing sent ({outcome.Decision.Reason})" : $"{outcome.Decision.Action.ToString().ToLowerInvariant()} ({outcome.Decision.Reason})";
        console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"step-0 {what}; SFT data in {Path.Combine(folder, Step0Stage.SftFolder)}");
    }
}
