using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.IO;
using Skim.Core.Stages;
using Skim.Distill.Responses;

namespace Skim.Distill.Teachers.Batch;

/// <summary>What a Batch API run did.</summary>
/// <param name="Collection">The counts, as a live collection reports them (sent: requests in batches submitted by this run).</param>
/// <param name="Batches">Batches this run drove (resumed and new).</param>
/// <param name="Adopted">Files or batches found on the server instead of uploaded or created again (a run was killed between the server's answer and the state write).</param>
/// <param name="LeftForNextRun">Requests of expired or cancelled batches with no answer (not stored; the next run sends them).</param>
/// <param name="Parts">The final state of this run's last round.</param>
public sealed record BatchRunResult(CollectionResult Collection, int Batches, int Adopted, int LeftForNextRun, IReadOnlyList<BatchPart> Parts);

/// <summary>
/// Collects teacher answers through the Batch API: writes the requests without an answer as
/// JSONL files (one line per request, <c>custom_id</c> = its <see cref="RequestKey"/>, split at the
/// API's limits), uploads them, creates the batches, polls them, downloads their output and error
/// files and imports every line into the <see cref="ResponseStore"/> under the same keys as live
/// mode. Every step is recorded in <see cref="BatchState"/> before the next begins.
/// </summary>
/// <remarks>
/// Resume: a run first drives the unfinished batches of <c>batch_state.json</c> from the state
/// they were in (a kill after the server created a file or batch, before the state recorded it, is
/// covered by searching the server for the file by its unique name and for the batch by its input
/// file, so nothing is uploaded or submitted twice). Then the requests still without an answer and
/// not attempted in this run go into one new round. Per-line errors and error-file lines are stored
/// as failures (retried by the next run, live or batch); the unanswered rest of an expired or
/// cancelled batch is not stored and is sent by the next run. Cancellation leaves the batches
/// running on the server; the next run picks them up.
/// </remarks>
public static class BatchCollector
{
    /// <summary>The progress phase.</summary>
    public const string Phase = "batch";

    /// <summary>Runs the batches.</summary>
    /// <param name="api">The Batch API.</param>
    /// <param name="store">Where answers go.</param>
    /// <param name="requests">Every request wanted (answered ones are skipped).</param>
    /// <param name="settings">Sampling settings (the body of each line, as live mode sends it).</param>
    /// <param name="model">The model stored with each answer (the teacher's <see cref="ITeacherClient.Model"/>).</param>
    /// <param name="directory">The step-0 folder (batch_state.json and batch/ go there).</param>
    /// <param name="options">Polling and splitting.</param>
    /// <param name="progress">Progress (requests done of total; batch statuses).</param>
    /// <param name="ct">Stops the run at its next step (the batches keep running on the server).</param>
    /// <exception cref="BatchPendingException">The batches were not done within <see cref="BatchOptions.MaxWaitHours"/>.</exception>
    /// <exception cref="TeacherRequestException">The Batch API failed after the retries.</exception>
    public static async Task<BatchRunResult> RunAsync(BatchApi api, ResponseStore store, IReadOnlyList<TeacherRequest> requests, TeacherSettings settings, string model, string directory, BatchOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var wanted = requests.DistinctBy(r => r.Key).ToList();
        var run = new Run(api, store, model, directory, options, progress, wanted.Count, wanted.Count(r => store.IsCompleted(r.Key)));
        var state = BatchState.Read(directory);
        var attempted = new HashSet<string>(StringComparer.Ordinal);
        if (state is not null && !state.IsFinal)
        {
            if (state.Teacher != api.Kind || state.Endpoint != api.Endpoint)
            {
                throw new SkimConfigException($"{Path.Combine(directory, BatchState.FileName)}: unfinished batches of the {state.Teacher} teacher at {state.Endpoint} are recorded; run with that teacher and endpoint to collect them (delete the file only to abandon them and what they cost)");
            }
            foreach (var part in state.Parts)
            {
                attempted.UnionWith(ReadKeys(state.LocalFile(directory, part, KeysSuffix)).Keys);
            }
            state = await run.DriveAsync(state, ct).ConfigureAwait(false);
        }
        var pending = wanted.Where(r => !store.IsCompleted(r.Key) && !attempted.Contains(r.Key)).ToList();
        if (pending.Count > 0)
        {
            state = run.Prepare(pending, settings, state);
            state = await run.DriveAsync(state, ct).ConfigureAwait(false);
        }
        run.Report(state);
        return new BatchRunResult(
            new CollectionResult(wanted.Count, run.Reused, run.Sent, run.Answered, run.Failed, run.InputTokens, run.OutputTokens, new Dictionary<string, int>(run.Reasons, StringComparer.Ordinal), false),
            run.Batches,
            run.Adopted,
            run.LeftForNextRun,
            state?.Parts ?? []);
    }

    /// <summary>The suffix of a part's request file.</summary>
    internal const string InputSuffix = "input.jsonl";

    /// <summary>The suffix of a part's key file (key, item index and uid per line).</summary>
    internal const string KeysSuffix = "keys.jsonl";

    /// <summary>The suffix of a part's downloaded output file.</summary>
    internal const string OutputSuffix = "output.jsonl";

    /// <summary>The suffix of a part's downloaded error file.</summary>
    internal const string ErrorsSuffix = "errors.jsonl";

    /// <summary>One request line of a batch file: custom_id, method, url and the live body.</summary>
    public static JsonObject Line(BatchApi api, TeacherRequest request, TeacherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(request);
        return new JsonObject
        {
            ["custom_id"] = request.Key,
            ["method"] = "POST",
            ["url"] = api.LineUrl,
            ["body"] = ChatCompletionsProtocol.Body(api.BodyModel, request.Prompt, settings),
        };
    }

    private static Dictionary<string, (int Index, string Uid)> ReadKeys(string path)
    {
        var keys = new Dictionary<string, (int, string)>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return keys;
        }
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }
            try
            {
                var node = JsonNode.Parse(line)!;
                keys[node["key"]!.GetValue<string>()] = (node["index"]!.GetValue<int>(), node["uid"]!.GetValue<string>());
            }
            catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or FormatException)
            {
                throw new SkimFormatException(path, $"line {number}", "expected {\"key\", \"index\", \"uid\"}");
            }
        }
        return keys;
    }

    private sealed class Run(BatchApi api, ResponseStore store, string model, string directory, BatchOptions options, IProgress<StageProgress>? progress, int total, int reused)
    {
        public int Reused { get; } = reused;

        public int Sent { get; private set; }

        public int Answered { get; private set; }

        public int Failed { get; private set; }

        public long InputTokens { get; private set; }

        public long OutputTokens { get; private set; }

        public int Batches { get; private set; }

        public int Adopted { get; private set; }

        public int LeftForNextRun { get; private set; }

        public ConcurrentDictionary<string, int> Reasons { get; } = new(StringComparer.Ordinal);

        public BatchState Prepare(IReadOnlyList<TeacherRequest> pending, TeacherSettings settings, BatchState? previous)
        {
            var round = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            var history = previous is null ? [] : previous.History.Concat(previous.Parts.Select(p => p.BatchId).OfType<string>()).ToList();
            var state = new BatchState { Teacher = api.Kind, Endpoint = api.Endpoint, Round = round, History = history };
            var parts = new List<BatchPart>();
            var lines = new List<byte[]>();
            var keys = new List<TeacherRequest>();
            long bytes = 0;
            void Flush()
            {
                var part = new BatchPart
                {
                    Part = parts.Count,
                    FileName = string.Create(CultureInfo.InvariantCulture, $"skim-step0-{round}-{parts.Count:D3}.jsonl"),
                    Requests = lines.Count,
                    Bytes = bytes,
                    State = BatchPart.Prepared,
                };
                Directory.CreateDirectory(Path.Combine(directory, BatchState.FolderName));
                AtomicFile.Write(state.LocalFile(directory, part, InputSuffix), s => lines.ForEach(l => s.Write(l)));
                AtomicFile.Write(state.LocalFile(directory, part, KeysSuffix), s =>
                {
                    foreach (var request in keys)
                    {
                        s.Write(Encoding.UTF8.GetBytes(new JsonObject { ["key"] = request.Key, ["index"] = request.Index, ["uid"] = request.Uid }.ToJsonString() + "\n"));
                    }
                });
                parts.Add(part);
                lines.Clear();
                keys.Clear();
                bytes = 0;
            }
            foreach (var request in pending)
            {
                var line = Encoding.UTF8.GetBytes(Line(api, request, settings).ToJsonString() + "\n");
                if (lines.Count > 0 && (lines.Count >= options.MaxRequests || bytes + line.Length > options.MaxBytes))
                {
                    Flush();
                }
                lines.Add(line);
                keys.Add(request);
                bytes += line.Length;
            }
            if (lines.Count > 0)
            {
                Flush();
            }
            // The request files are durable before the state names them; a kill before this write
            // leaves files of a round nobody knows, and the next run prepares a fresh round.
            state = state with { Parts = parts };
            state.Write(directory);
            Report(state);
            return state;
        }

        public async Task<BatchState> DriveAsync(BatchState state, CancellationToken ct)
        {
            Batches += state.Parts.Count(p => !p.IsFinal);
            // Upload and submit every part first, so that the server works on all of them at once.
            for (var i = 0; i < state.Parts.Count; i++)
            {
                var part = state.Parts[i];
                if (part.State == BatchPart.Prepared)
                {
                    var content = await File.ReadAllBytesAsync(state.LocalFile(directory, part, InputSuffix), ct).ConfigureAwait(false);
                    var (fileId, found) = await api.EnsureUploadedAsync(part.FileName, content, ct).ConfigureAwait(false);
                    Adopted += found ? 1 : 0;
                    part = part with { State = BatchPart.Uploaded, InputFileId = fileId };
                    state = Save(state, i, part);
                }
                if (part.State == BatchPart.Uploaded)
                {
                    var (batch, found) = await api.SubmitAsync(part.InputFileId!, ct).ConfigureAwait(false);
                    Adopted += found ? 1 : 0;
                    Sent += found ? 0 : part.Requests;
                    part = part with { State = BatchPart.Submitted, BatchId = batch.Id, Status = batch.Status };
                    state = Save(state, i, part);
                }
            }
            Report(state);

            var clock = Stopwatch.StartNew();
            while (true)
            {
                for (var i = 0; i < state.Parts.Count; i++)
                {
                    var part = state.Parts[i];
                    if (part.State is not (BatchPart.Submitted or BatchPart.Polling))
                    {
                        continue;
                    }
                    var info = await api.GetAsync(part.BatchId!, ct).ConfigureAwait(false);
                    var next = part with
                    {
                        State = BatchPart.Polling,
                        Status = info.Status,
                        Completed = info.Completed,
                        FailedCount = info.Failed,
                        OutputFileId = info.OutputFileId ?? part.OutputFileId,
                        ErrorFileId = info.ErrorFileId ?? part.ErrorFileId,
                    };
                    if (info.IsFinal)
                    {
                        next = await FinishAsync(state, next, info, ct).ConfigureAwait(false);
                    }
                    if (next != part)
                    {
                        state = Save(state, i, next);
                    }
                }
                Report(state);
                var active = state.Parts.Where(p => p.State is BatchPart.Submitted or BatchPart.Polling).ToList();
                if (active.Count == 0)
                {
                    break;
                }
                if (clock.Elapsed.TotalHours >= options.MaxWaitHours)
                {
                    throw new BatchPendingException(string.Create(CultureInfo.InvariantCulture,
                        $"{active.Count} batch(es) ({string.Join(", ", active.Select(p => $"{p.BatchId} {p.Status} {p.Completed}/{p.Requests}"))}) still running after {options.MaxWaitHours} h (batch_max_wait_hours); they keep running on the server and the same command resumes polling"));
                }
                await Task.Delay(TimeSpan.FromSeconds(options.PollIntervalSeconds), ct).ConfigureAwait(false);
            }

            for (var i = 0; i < state.Parts.Count; i++)
            {
                if (state.Parts[i].State == BatchPart.Downloaded)
                {
                    state = Save(state, i, Import(state, state.Parts[i]));
                }
            }
            return state;
        }

        // The server is done with the part: save its files locally (or, for a batch that failed
        // as a whole, store its requests as failures).
        private async Task<BatchPart> FinishAsync(BatchState state, BatchPart part, BatchInfo info, CancellationToken ct)
        {
            if (part.OutputFileId is null && part.ErrorFileId is null)
            {
                if (info.Status == BatchApi.Failed)
                {
                    var reason = info.Errors ?? "the batch failed";
                    foreach (var (key, (index, uid)) in ReadKeys(state.LocalFile(directory, part, KeysSuffix)))
                    {
                        StoreFailure(key, index, uid, "batch_failed", reason, null);
                    }
                    return part with { State = BatchPart.Failed, Reason = $"failed: {reason}" };
                }
                LeftForNextRun += part.Requests;
                return part with
                {
                    State = info.Status == BatchApi.Expired ? BatchPart.Expired : BatchPart.Cancelled,
                    Reason = string.Create(CultureInfo.InvariantCulture, $"{info.Status} with no output; its {part.Requests} requests are left for the next run"),
                };
            }
            foreach (var (fileId, suffix) in new[] { (part.OutputFileId, OutputSuffix), (part.ErrorFileId, ErrorsSuffix) })
            {
                if (fileId is not null)
                {
                    var bytes = await api.DownloadAsync(fileId, ct).ConfigureAwait(false);
                    AtomicFile.Write(state.LocalFile(directory, part, suffix), s => s.Write(bytes));
                }
            }
            return part with { State = BatchPart.Downloaded };
        }

        private BatchPart Import(BatchState state, BatchPart part)
        {
            var keys = ReadKeys(state.LocalFile(directory, part, KeysSuffix));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var answered = 0;
            foreach (var suffix in new[] { OutputSuffix, ErrorsSuffix })
            {
                var path = state.LocalFile(directory, part, suffix);
                if (!File.Exists(path))
                {
                    continue;
                }
                foreach (var text in File.ReadLines(path))
                {
                    if (string.IsNullOrWhiteSpace(text) || ParseLine(text) is not { } line || !keys.TryGetValue(line.Key, out var item) || !seen.Add(line.Key))
                    {
                        // A line the server garbled, or for a request not in this file: its request stays unanswered.
                        continue;
                    }
                    answered += line.Answer is { IsContentFiltered: false } ? 1 : 0;
                    if (line.Answer is { IsContentFiltered: false } answer)
                    {
                        StoreAnswer(line.Key, item.Index, item.Uid, answer);
                    }
                    else if (line.Answer is { } refused)
                    {
                        StoreFailure(line.Key, item.Index, item.Uid, TeacherAnswer.ContentFilter, "the teacher's content filter refused the prompt or the answer", refused);
                    }
                    else
                    {
                        StoreFailure(line.Key, item.Index, item.Uid, line.Reason!, line.Message!, null);
                    }
                }
            }
            var left = keys.Count - seen.Count;
            var final = part.Status switch
            {
                BatchApi.Expired => BatchPart.Expired,
                BatchApi.Cancelled => BatchPart.Cancelled,
                BatchApi.Failed => BatchPart.Failed,
                _ => BatchPart.Imported,
            };
            LeftForNextRun += left;
            // The request file is uploaded and answered; the key, output and error files stay as the record of what was paid for.
            File.Delete(state.LocalFile(directory, part, InputSuffix));
            return part with
            {
                State = final,
                Reason = final == BatchPart.Imported && left == 0 ? null : string.Create(CultureInfo.InvariantCulture, $"{part.Status}: {answered} of {keys.Count} answered; {left} without a line are left for the next run"),
            };
        }

        private void StoreAnswer(string key, int index, string uid, TeacherAnswer answer)
        {
            if (store.IsCompleted(key))
            {
                return;
            }
            store.Append(new ResponseRecord
            {
                Key = key,
                Index = index,
                Uid = uid,
                Status = ResponseRecord.Ok,
                Responses = answer.Texts,
                FinishReason = answer.FinishReason,
                InputTokens = answer.InputTokens,
                OutputTokens = answer.OutputTokens,
                Model = model,
            });
            Answered++;
            InputTokens += answer.InputTokens;
            OutputTokens += answer.OutputTokens;
        }

        private void StoreFailure(string key, int index, string uid, string reason, string message, TeacherAnswer? answer)
        {
            if (store.IsCompleted(key))
            {
                return;
            }
            store.Append(new ResponseRecord
            {
                Key = key,
                Index = index,
                Uid = uid,
                Status = ResponseRecord.Failed,
                FinishReason = answer?.FinishReason,
                Reason = reason,
                Error = message,
                InputTokens = answer?.InputTokens ?? 0,
                OutputTokens = answer?.OutputTokens ?? 0,
                Model = model,
            });
            Failed++;
            InputTokens += answer?.InputTokens ?? 0;
            OutputTokens += answer?.OutputTokens ?? 0;
            Reasons.AddOrUpdate(reason, 1, (_, n) => n + 1);
        }

        private BatchState Save(BatchState state, int index, BatchPart part)
        {
            var next = state.With(index, part);
            next.Write(directory);
            // Every transition is reported once it is durable.
            Report(next);
            return next;
        }

        public void Report(BatchState? state)
        {
            if (progress is null)
            {
                return;
            }
            var parts = state?.Parts ?? [];
            var running = parts.Where(p => p.State is BatchPart.Submitted or BatchPart.Polling).Sum(p => p.Completed + p.FailedCount);
            var statuses = string.Join(", ", parts.GroupBy(p => p.IsFinal || p.State == BatchPart.Downloaded ? p.State : p.Status ?? p.State).Select(g => $"{g.Count()} {g.Key}"));
            progress.Report(new StageProgress(Phase, Math.Min(total, Reused + Answered + Failed + running), total, "requests",
                string.Create(CultureInfo.InvariantCulture, $"{parts.Count} batch(es): {statuses}; {InputTokens + OutputTokens:N0} tokens, {Failed} failed")));
        }
    }

    private sealed record ParsedLine(string Key, TeacherAnswer? Answer, string? Reason, string? Message);

    // One line of an output or error file: {"custom_id", "response": {"status_code", "body"}, "error"}.
    private static ParsedLine? ParseLine(string text)
    {
        JsonObject? line;
        try
        {
            line = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
        if (line?["custom_id"] is not JsonValue id || id.GetValueKind() != JsonValueKind.String)
        {
            return null;
        }
        var key = id.GetValue<string>();
        if (line["error"] is JsonObject error)
        {
            var code = error["code"] is JsonValue c && c.GetValueKind() == JsonValueKind.String ? c.GetValue<string>() : "batch_error";
            var message = error["message"] is JsonValue m && m.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : code;
            return new ParsedLine(key, null, code, message.ReplaceLineEndings(" "));
        }
        if (line["response"] is not JsonObject response || response["status_code"] is not JsonValue statusNode || !statusNode.TryGetValue<int>(out var status))
        {
            return new ParsedLine(key, null, "malformed_response", "the batch line has neither a response with a status code nor an error");
        }
        try
        {
            return new ParsedLine(key, ChatCompletionsProtocol.Parse(status, response["body"]?.ToJsonString() ?? "", null), null, null);
        }
        catch (TeacherRequestException e)
        {
            return new ParsedLine(key, null, e.Reason, e.Message);
        }
    }
}
