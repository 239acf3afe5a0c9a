using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.IO;
using Skim.Core.Stages;
using Skim.Distill.Items;
using Skim.Distill.Prompts;
using Skim.Distill.Responses;
using Skim.Distill.Sft;
using Skim.Distill.Teachers;
using Skim.Distill.Teachers.Batch;
using Skim.Models.Tokenization;

namespace Skim.Distill.Step0;

/// <summary>
/// Step-0, teacher side: samples items, renders their prompts, asks the teacher (or imports SKIM's
/// provided answers), keeps every answer in the crash-safe <c>responses.jsonl</c>, and turns them
/// into SFT data for the SLM. Output folder: <c>prompts.jsonl</c>, <c>responses.jsonl</c>,
/// <c>sft/train.json</c>, <c>sft/val.json</c>, <c>manifest.json</c>.
/// </summary>
/// <remarks>
/// Resume: every answer is durable before it counts, and requests are keyed by content
/// (<see cref="RequestKey"/>), so a rerun on a partial folder sends only what has no answer (and
/// what failed). Cancellation stops the sending, stores the answers in flight and leaves the
/// manifest incomplete. Configuration errors (options, template, key variable, empty sample,
/// corrupt store) are raised before anything is written.
/// </remarks>
public sealed class Step0Stage : Stage<Step0Options>
{
    /// <summary>The stage kind.</summary>
    public const string StageKind = "step-0";

    /// <summary>The prompts file.</summary>
    public const string PromptsFile = "prompts.jsonl";

    /// <summary>The SFT folder.</summary>
    public const string SftFolder = "sft";

    /// <inheritdoc/>
    public override string Kind => StageKind;

    /// <summary>
    /// Gets the response store, kept when a changed option re-runs the stage: answers are keyed by
    /// their request (template, item, prompt, model, sampling settings), so a paid answer is reused
    /// exactly when the same request comes again, and never paid for twice.
    /// </summary>
    /// <remarks>The Batch API state and its files are kept too: a batch submitted before the options changed is paid for, and its answers are collected (under their own keys) by the next run.</remarks>
    public override IReadOnlyList<string> KeptOnRerun => [ResponseStore.FileName, BatchState.FileName, BatchState.FolderName];

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Inputs(Step0Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var inputs = new List<string> { options.DatasetDirectory, options.TemplatePath };
        if (options.TokenizerDirectory is not null)
        {
            inputs.Add(options.TokenizerDirectory);
        }
        if (options.ImportDirectory is not null)
        {
            inputs.Add(options.ImportDirectory);
        }
        return inputs;
    }

    /// <inheritdoc/>
    protected override string OutputDirectory(Step0Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.OutputDirectory;
    }

    /// <inheritdoc/>
    protected override void Validate(Step0Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
    }

    /// <inheritdoc/>
    protected override async Task<JsonObject> RunAsync(Step0Options options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var directory = options.OutputDirectory;

        // Everything that can fail on the user's input happens before the first write.
        var templateText = File.ReadAllText(options.TemplatePath, Encoding.UTF8);
        var template = PromptTemplate.Parse(templateText, options.TemplatePath);
        var tokenizer = options.TokenizerDirectory is null ? null : TokenizerLoader.Load(options.TokenizerDirectory);
        var builder = new PromptBuilder(template, options.Fields, options.MaxPromptTokens, tokenizer);
        var dataset = XcDataset.Open(options.DatasetDirectory);
        var items = PromptItems.FromDataset(dataset, options.Orientation, new PromptItemsOptions { MaxKnownQueries = options.MaxKnownQueries });
        var frequencies = options.Stratified ? ItemSampler.Frequencies(dataset, options.Orientation) : null;
        var sample = ItemSampler.Sample(items, frequencies, options.Sample);
        var imports = options.ImportDirectory is null ? [] : SkimResponseFiles.Read(options.ImportDirectory);
        foreach (var file in imports)
        {
            if (file.End > items.Count)
            {
                throw new SkimFormatException(file.Path, null, $"items {file.Start} to {file.End - 1} do not exist: the dataset has {items.Count} items {OrientationName(options.Orientation)}");
            }
        }
        if (sample.Items.Count == 0 && imports.Count == 0)
        {
            throw new SkimDataException(options.DatasetDirectory, null, $"the sample is empty: {items.Count} items {OrientationName(options.Orientation)}, {sample.SkippedWithoutMetadata} of them without metadata (title or text)");
        }
        var settings = options.Settings;
        var promptOf = new Dictionary<string, PromptItem>(StringComparer.Ordinal);
        using var client = TeacherClients.Create(options.TeacherOptions, prompt => promptOf.GetValueOrDefault(prompt));
        var requests = new List<TeacherRequest>();
        var knownQueries = new Dictionary<string, string>(StringComparer.Ordinal);
        TeacherRequest Request(PromptItem item)
        {
            var prompt = builder.Render(item);
            promptOf.TryAdd(prompt, item);
            var key = RequestKey.Compute(templateText, item.Uid, prompt, client.Model, settings);
            knownQueries[key] = item.Fields.GetValueOrDefault(PromptItems.KnownQueriesField, "");
            return new TeacherRequest(key, item.Index, item.Uid, prompt);
        }
        requests.AddRange(sample.Items.Select(Request));
        var imported = new List<(TeacherRequest Request, string Response)>();
        foreach (var file in imports)
        {
            for (var i = file.Start; i < file.End; i++)
            {
                imported.Add((Request(items[i]), file.Responses[i - file.Start]));
            }
        }
        var path = Path.Combine(directory, ResponseStore.FileName);
        var existed = Directory.Exists(directory);
        using var store = ResponseStore.Open(path);
        var warnings = new List<string>(store.Warnings);
        foreach (var warning in warnings)
        {
            progress?.Report(new StageProgress("warning", 0, 0, "", warning));
        }

        var started = StageManifests.WriteStarted(Kind, options, options.Seed, Inputs(options), directory);
        var allRequests = requests.Concat(imported.Select(x => x.Request)).DistinctBy(r => r.Key).ToList();
        WritePrompts(Path.Combine(directory, PromptsFile), allRequests);
        var importedNow = 0;
        foreach (var (request, response) in imported)
        {
            if (!store.IsCompleted(request.Key))
            {
                store.Append(new ResponseRecord
                {
                    Key = request.Key,
                    Index = request.Index,
                    Uid = request.Uid,
                    Status = ResponseRecord.Ok,
                    Responses = [response],
                    FinishReason = TeacherAnswer.Stop,
                    Model = client.Model,
                    Source = ResponseRecord.ImportSource,
                });
                importedNow++;
            }
        }

        CollectionResult collected;
        BatchRunResult? batched = null;
        try
        {
            if (options.Mode == Step0Options.Batch)
            {
                using var api = new BatchApi(options.TeacherOptions);
                batched = await BatchCollector.RunAsync(api, store, requests, settings, client.Model, directory, options.BatchOptions, progress, ct).ConfigureAwait(false);
                collected = batched.Collection;
            }
            else
            {
                collected = await ResponseCollector.RunAsync(client, store, requests, settings, options.Concurrency, options.Prices, progress, ct).ConfigureAwait(false);
            }
        }
        catch (TeacherRequestException e) when (e.IsUnreachable)
        {
            store.Dispose();
            // A batch uploaded or submitted before the connection was lost is recorded in the batch
            // state, which must survive: the next run resumes it rather than paying for it again.
            var batchStarted = BatchState.Read(directory)?.Parts.Any(p => p.InputFileId is not null || p.BatchId is not null) == true;
            if (!existed && store.Records.Count == 0 && !batchStarted)
            {
                // Nothing was answered: leave no folder behind for a run that never started.
                Directory.Delete(directory, recursive: true);
            }
            throw new SkimConfigException($"endpoint: cannot reach the {options.Teacher} teacher at {options.Endpoint ?? "its default URL"} after {options.MaxRetries} retries ({e.InnerException?.Message ?? e.Message}){(batchStarted ? $"; the batches already submitted are recorded in {BatchState.FileName} and the next run resumes them" : "")}", e);
        }

        // SFT data from every answered request of this run's prompts (sampled and imported).
        var candidates = new List<SftCandidate>();
        foreach (var request in allRequests)
        {
            if (store.Answer(request.Key) is { } answer)
            {
                candidates.AddRange(answer.Responses.Select(r => new SftCandidate(request.Prompt, r, answer.FinishReason, knownQueries[request.Key])));
            }
        }
        var sft = SftBuilder.Build(candidates, new SftOptions { ValidationFraction = options.ValidationFraction, Seed = options.Seed });
        var sftDirectory = Path.Combine(directory, SftFolder);
        SftBuilder.Write(sft, sftDirectory);

        var records = store.Records;
        long inputTokens = records.Sum(r => r.InputTokens), outputTokens = records.Sum(r => r.OutputTokens);
        var stillFailed = allRequests.Count(r => !store.IsCompleted(r.Key));
        var summary = new JsonObject
        {
            ["items_total"] = items.Count,
            ["items_sampled"] = sample.Items.Count,
            ["items_without_metadata"] = sample.SkippedWithoutMetadata,
            ["items_imported"] = imported.Count,
            ["requests"] = allRequests.Count,
            ["requests_sent"] = collected.Sent,
            ["requests_answered"] = collected.Answered,
            ["requests_failed"] = collected.Failed,
            ["requests_reused"] = collected.Reused + importedNow,
            ["requests_unanswered"] = stillFailed,
            ["failure_reasons"] = new JsonObject([.. collected.FailureReasons.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))]),
            ["duplicate_answers"] = store.DuplicateAnswers,
            ["input_tokens"] = inputTokens,
            ["output_tokens"] = outputTokens,
            ["cost"] = Math.Round(options.Prices.Cost(inputTokens, outputTokens), 6),
            ["sft_train"] = sft.Train.Count,
            ["sft_val"] = sft.Validation.Count,
            ["sft_dropped"] = new JsonObject([.. sft.Dropped.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))]),
            ["warnings"] = new JsonArray([.. warnings.Select(w => (JsonNode?)w)]),
        };
        if (batched is not null)
        {
            summary["mode"] = Step0Options.Batch;
            summary["batches"] = batched.Batches;
            summary["batches_adopted"] = batched.Adopted;
            summary["requests_left_for_next_run"] = batched.LeftForNextRun;
        }
        store.Dispose();
        StageManifests.WriteComplete(Kind, options, options.Seed, Inputs(options), directory,
            [Path.Combine(directory, PromptsFile), path, sftDirectory], summary, started);
        return summary;
    }

    private static string OrientationName(MappingOrientation orientation) =>
        orientation == MappingOrientation.QuerySide ? "(query-side: one per label)" : "(label-side: one per train document)";

    private static void WritePrompts(string path, IReadOnlyList<TeacherRequest> requests)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream);
            foreach (var request in requests)
            {
                writer.WriteStartObject();
                writer.WriteString("key", request.Key);
                writer.WriteNumber("index", request.Index);
                writer.WriteString("uid", request.Uid);
                writer.WriteString("prompt", request.Prompt);
                writer.WriteEndObject();
                writer.Flush();
                stream.WriteByte((byte)'\n');
                writer.Reset();
            }
        });
    }
}
