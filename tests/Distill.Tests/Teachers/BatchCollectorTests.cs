using System.Text.Json.Nodes;
using Skim.Core.Stages;
using Skim.Distill.Responses;
using Skim.Distill.Teachers;
using Skim.Distill.Teachers.Batch;

namespace Skim.Distill.Tests.Teachers;

public sealed class BatchCollectorTests : IAsyncLifetime, IDisposable
{
    private static readonly TeacherSettings s_settings = new() { MaxTokens = 50, Temperature = 0.5, Stop = ["###"], SystemMessage = "You write search queries." };

    private readonly TempDirectory _dir = new();
    private readonly string _keyVariable = "SKIM_TEST_BATCH_KEY_" + Guid.NewGuid().ToString("N");
    private TeacherServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TeacherServer.StartAsync();
        Environment.SetEnvironmentVariable(_keyVariable, "sk-batch-secret");
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_keyVariable, null);
        await _server.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    private TeacherClientOptions Compatible => new()
    {
        Kind = TeacherClientOptions.Compatible,
        Endpoint = _server.BaseUrl + "/v1",
        Model = "teacher-7b",
        ApiKeyVariable = _keyVariable,
        MaxRetries = 2,
        RetryDelaySeconds = 0.01,
        TimeoutSeconds = 10,
    };

    private static BatchOptions Fast(int maxRequests = BatchOptions.ApiMaxRequests) => new() { PollIntervalSeconds = 0.01, MaxWaitHours = 0.01, MaxRequests = maxRequests };

    private static List<TeacherRequest> Requests(int count, string model = "teacher-7b") =>
    [
        .. Enumerable.Range(0, count).Select(i =>
        {
            var prompt = $"Write queries.\nitem {i}";
            return new TeacherRequest(RequestKey.Compute("template", $"uid{i}", prompt, model, s_settings), i, $"uid{i}", prompt);
        }),
    ];

    private string StorePath => _dir.File(ResponseStore.FileName);

    private async Task<BatchRunResult> Run(IReadOnlyList<TeacherRequest> requests, BatchOptions? options = null, IProgress<StageProgress>? progress = null, TeacherClientOptions? teacher = null)
    {
        using var api = new BatchApi(teacher ?? Compatible);
        using var store = ResponseStore.Open(StorePath);
        return await BatchCollector.RunAsync(api, store, requests, s_settings, "teacher-7b", _dir.Path, options ?? Fast(), progress, CancellationToken.None);
    }

    private IReadOnlyList<ResponseRecord> Stored()
    {
        using var store = ResponseStore.Open(StorePath);
        return store.Records;
    }

    private BatchState State => BatchState.Read(_dir.Path)!;

    private static List<JsonObject> Lines(string text) => [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject())];

    [Fact]
    public async Task Batch_request_lines_carry_the_request_key_and_exactly_the_body_live_mode_sends()
    {
        // Given three requests, one of them also sent live
        var requests = Requests(3);
        using (var live = TeacherClients.Create(Compatible))
        {
            await live.CompleteAsync(requests[1].Prompt, s_settings, CancellationToken.None);
        }
        var liveBody = Assert.Single(_server.Requests, r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)).Body;

        // When they go through the Batch API
        await Run(requests);

        // Then the uploaded file has one line per request: custom_id = key, POST to the chat route, the live body
        var upload = Assert.Single(_server.Batches.Files.Values, f => f.Name.StartsWith("skim-step0-", StringComparison.Ordinal));
        var lines = Lines(_server.Batches.Text(upload.Id));
        Assert.Equal(requests.Select(r => r.Key), lines.Select(l => l["custom_id"]!.GetValue<string>()));
        Assert.All(lines, l => Assert.Equal(("POST", "/v1/chat/completions"), (l["method"]!.GetValue<string>(), l["url"]!.GetValue<string>())));
        Assert.True(JsonNode.DeepEquals(liveBody, lines[1]["body"]), $"batch body {lines[1]["body"]} differs from the live body {liveBody}");
        var batch = Assert.Single(_server.Batches.Created);
        Assert.Equal("/v1/chat/completions", batch.Endpoint);
        Assert.All(_server.Requests, r => Assert.Equal("Bearer sk-batch-secret", r.Headers["authorization"]));
        var upl = Assert.Single(_server.Requests, r => r.Method == "POST" && r.Path == "/v1/files");
        Assert.Equal("batch", upl.Body["purpose"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_batch_goes_through_every_state_in_order_and_its_answers_are_stored_under_the_request_keys()
    {
        // Given a server that answers in_progress twice before completing
        _server.Batches.PollsBeforeDone = 2;
        var requests = Requests(12);
        var states = new List<string>();
        var sink = new Sink(_ =>
        {
            if (BatchState.Read(_dir.Path) is { Parts: [var part] } && (states.Count == 0 || states[^1] != part.State))
            {
                states.Add(part.State);
            }
        });

        // When the batch runs
        var result = await Run(requests, progress: sink);

        // Then the state went prepared → uploaded → submitted → polling → downloaded → imported
        Assert.Equal([BatchPart.Prepared, BatchPart.Uploaded, BatchPart.Submitted, BatchPart.Polling, BatchPart.Downloaded, BatchPart.Imported], states);
        var part = Assert.Single(State.Parts);
        Assert.Equal((BatchApi.Completed, 12, 0), (part.Status, part.Completed, part.FailedCount));
        Assert.NotNull(part.BatchId);
        Assert.Equal((12, 12, 12, 0), (result.Collection.Sent, result.Collection.Answered, result.Collection.Total, result.Collection.Failed));
        Assert.Equal(3, _server.Batches.Created[0].Polls);

        // And every answer is stored under its key, as live mode would have it
        var stored = Stored();
        Assert.Equal(requests.Select(r => r.Key).Order(), stored.Select(r => r.Key).Order());
        Assert.All(stored, r => Assert.Equal("answer for " + TeacherServer.LastLine(requests[r.Index].Prompt), Assert.Single(r.Responses)));
        Assert.All(stored, r => Assert.Equal(($"uid{r.Index}", "teacher-7b", ResponseRecord.Ok), (r.Uid, r.Model, r.Status)));
        Assert.Equal(12 * 11L, result.Collection.InputTokens);

        // And a second run finds nothing to send
        var again = await Run(requests);
        Assert.Equal((0, 12), (again.Collection.Sent, again.Collection.Reused));
        Assert.Equal((1, 1), (_server.Batches.Uploads, _server.Batches.Submissions));
    }

    [Theory]
    [InlineData(BatchPart.Prepared)]
    [InlineData(BatchPart.Uploaded)]
    [InlineData(BatchPart.Submitted)]
    [InlineData(BatchPart.Polling)]
    [InlineData(BatchPart.Downloaded)]
    [InlineData(BatchPart.Imported)]
    public async Task A_run_killed_in_any_state_resumes_without_uploading_or_submitting_again(string killedIn)
    {
        // Given two batches (split at 5 requests) and a run that dies as soon as part 1 reaches the state
        _server.Batches.PollsBeforeDone = 2;
        var requests = Requests(8);
        var kill = new Sink(_ =>
        {
            if (BatchState.Read(_dir.Path) is { Parts: [_, var second] } && second.State == killedIn)
            {
                throw new SimulatedKill();
            }
        });
        await Assert.ThrowsAsync<SimulatedKill>(() => Run(requests, Fast(maxRequests: 5), kill));
        Assert.Equal(killedIn, State.Parts[1].State);

        // When the run starts again from the state file
        var result = await Run(requests, Fast(maxRequests: 5));

        // Then each file was uploaded once and each batch created once, and every request is answered exactly once
        Assert.Equal((2, 2), (_server.Batches.Uploads, _server.Batches.Submissions));
        Assert.All(State.Parts, p => Assert.Equal(BatchPart.Imported, p.State));
        var stored = Stored();
        Assert.Equal(8, stored.Count);
        Assert.Equal(requests.Select(r => r.Key).Order(), stored.Select(r => r.Key).Order());
        Assert.Equal(0, result.Collection.Failed);
    }

    [Fact]
    public async Task A_file_and_a_batch_the_server_made_before_the_state_recorded_them_are_found_not_made_again()
    {
        // Given a state file that stopped at "prepared", while the server already holds the uploaded file (the kill came between the two)
        var requests = Requests(4);
        var kill = new Sink(_ =>
        {
            if (BatchState.Read(_dir.Path) is { Parts: [{ State: BatchPart.Prepared }] })
            {
                throw new SimulatedKill();
            }
        });
        await Assert.ThrowsAsync<SimulatedKill>(() => Run(requests, progress: kill));
        var part = Assert.Single(State.Parts);
        var file = _server.Batches.AddFile(part.FileName, File.ReadAllBytes(State.LocalFile(_dir.Path, part, "input.jsonl")));
        // ... and a batch of that file (created, then the answer lost)
        _server.Batches.AddBatch(file.Id);

        // When the run resumes
        var result = await Run(requests);

        // Then it adopts both: no upload, no creation, every answer stored
        Assert.Equal((0, 0), (_server.Batches.Uploads, _server.Batches.Submissions));
        Assert.Equal(2, result.Adopted);
        Assert.Equal(file.Id, State.Parts[0].InputFileId);
        Assert.Equal(4, Stored().Count(r => r.IsOk));
    }

    [Fact]
    public async Task A_creation_whose_answer_was_lost_is_retried_by_finding_the_batch_not_by_creating_another()
    {
        // Given a server that creates the batch but answers 500, and stores the upload but answers 500
        _server.Batches.LoseNextCreateResponse = true;
        _server.Batches.LoseNextUploadResponse = true;

        // When a batch runs
        var result = await Run(Requests(3));

        // Then the retries found the file and the batch: one of each, all answered
        Assert.Equal((1, 1), (_server.Batches.Uploads, _server.Batches.Submissions));
        Assert.Equal(3, result.Collection.Answered);
    }

    [Fact]
    public async Task Requests_over_the_limit_are_split_into_several_batches_tracked_in_one_state_file()
    {
        // Given 23 requests and at most 10 per batch
        var requests = Requests(23);

        // When
        var result = await Run(requests, Fast(maxRequests: 10));

        // Then three batches of 10, 10 and 3, all imported
        Assert.Equal([10, 10, 3], State.Parts.Select(p => p.Requests));
        Assert.All(State.Parts, p => Assert.Equal(BatchPart.Imported, p.State));
        Assert.Equal((3, 3, 3), (_server.Batches.Uploads, _server.Batches.Submissions, result.Batches));
        Assert.Equal(23, Stored().Select(r => r.Key).Distinct().Count());
    }

    [Fact]
    public async Task Splitting_also_respects_the_byte_limit()
    {
        // Given requests of about 400 bytes each and at most 1,024 bytes per file
        var requests = Requests(5);

        // When
        await Run(requests, Fast() with { MaxBytes = 1024 });

        // Then no file is over the limit and every request is in one of them
        Assert.True(State.Parts.Count >= 2, $"{State.Parts.Count} parts");
        Assert.All(_server.Batches.Files.Values.Where(f => f.Name.StartsWith("skim-step0-", StringComparison.Ordinal)), f => Assert.InRange(f.Content.Length, 1, 1024));
        Assert.Equal(5, State.Parts.Sum(p => p.Requests));
    }

    [Fact]
    public async Task An_expired_batch_imports_its_partial_output_and_the_next_run_sends_only_the_rest()
    {
        // Given a batch that expires after answering 4 of 10 lines
        _server.Batches.FinalStatus = "expired";
        _server.Batches.AnsweredLines = 4;
        var requests = Requests(10);

        // When it runs
        var first = await Run(requests);

        // Then 4 answers are stored, the 6 others are not stored at all, and the part ends expired with a reason
        Assert.Equal((4, 0, 6), (first.Collection.Answered, first.Collection.Failed, first.LeftForNextRun));
        Assert.Equal(4, Stored().Count);
        var part = Assert.Single(State.Parts);
        Assert.Equal(BatchPart.Expired, part.State);
        Assert.Contains("4 of 10 answered", part.Reason, StringComparison.Ordinal);

        // When the next run finds a server that completes
        _server.Batches.FinalStatus = "completed";
        var second = await Run(requests);

        // Then it sent a new batch of the 6 missing requests only
        Assert.Equal((6, 6), (second.Collection.Sent, second.Collection.Answered));
        var latest = _server.Batches.Created[^1];
        Assert.Equal(6, Lines(_server.Batches.Text(latest.InputFileId)).Count);
        Assert.Equal(10, Stored().Count(r => r.IsOk));
        Assert.Contains(State.History, id => id == _server.Batches.Created[0].Id);
    }

    [Fact]
    public async Task Per_line_errors_and_error_file_lines_are_stored_as_failures_and_retried_next_run()
    {
        // Given a batch whose line 0 fails with a server error and line 1 is refused by the content filter
        _server.Batches.LineError = i => i switch { 0 => "server_error", 1 => "content_filter", _ => null };
        var requests = Requests(5);

        // When it runs
        var first = await Run(requests);

        // Then 3 answers and 2 failures with their reasons are stored
        Assert.Equal((3, 2), (first.Collection.Answered, first.Collection.Failed));
        var failures = Stored().Where(r => !r.IsOk).ToDictionary(r => r.Key, r => r.Reason);
        Assert.Equal("server_error", failures[requests[0].Key]);
        Assert.Equal("content_filter", failures[requests[1].Key]);
        Assert.Equal(BatchPart.Imported, Assert.Single(State.Parts).State);

        // When the next run finds the server healthy
        _server.Batches.LineError = _ => null;
        var second = await Run(requests);

        // Then only the two failed requests are sent again, and now every request has an answer
        Assert.Equal((2, 2), (second.Collection.Sent, second.Collection.Answered));
        using var store = ResponseStore.Open(StorePath);
        Assert.All(requests, r => Assert.True(store.IsCompleted(r.Key)));
    }

    [Fact]
    public async Task A_batch_that_fails_as_a_whole_stores_each_request_as_a_failure_with_the_reason()
    {
        // Given a server that rejects the batch
        _server.Batches.FinalStatus = "failed";

        // When
        var result = await Run(Requests(3));

        // Then
        var part = Assert.Single(State.Parts);
        Assert.Equal(BatchPart.Failed, part.State);
        Assert.Contains("not valid", part.Reason, StringComparison.Ordinal);
        Assert.Equal(3, result.Collection.Failed);
        Assert.All(Stored(), r => Assert.Equal((ResponseRecord.Failed, "batch_failed"), (r.Status, r.Reason)));
    }

    [Fact]
    public async Task Azure_batches_use_the_openai_routes_with_the_api_version_the_api_key_header_and_the_deployment_as_model()
    {
        // Given an Azure teacher on the loopback server
        var azure = new TeacherClientOptions
        {
            Kind = TeacherClientOptions.Azure,
            Endpoint = _server.BaseUrl,
            Deployment = "gpt-4o-batch",
            ApiVersion = "2024-10-21",
            ApiKeyVariable = _keyVariable,
            MaxRetries = 1,
            RetryDelaySeconds = 0.01,
        };

        // When a batch runs
        var result = await Run(Requests(2), teacher: azure);

        // Then every call went to {endpoint}/openai/... with the api-version and the api-key header
        Assert.Equal(2, result.Collection.Answered);
        Assert.All(_server.Requests, r =>
        {
            Assert.StartsWith("/openai/", r.Path, StringComparison.Ordinal);
            Assert.Contains("api-version=2024-10-21", r.Query, StringComparison.Ordinal);
            Assert.Equal("sk-batch-secret", r.Headers["api-key"]);
            Assert.False(r.Headers.ContainsKey("authorization"));
        });
        Assert.Contains(_server.Requests, r => (r.Method, r.Path) == ("POST", "/openai/files"));
        Assert.Contains(_server.Requests, r => (r.Method, r.Path) == ("POST", "/openai/batches"));
        Assert.Contains(_server.Requests, r => r.Method == "GET" && r.Path.StartsWith("/openai/files/", StringComparison.Ordinal) && r.Path.EndsWith("/content", StringComparison.Ordinal));
        // And the lines name the deployment and Azure's route
        var batch = Assert.Single(_server.Batches.Created);
        Assert.Equal("/chat/completions", batch.Endpoint);
        Assert.All(Lines(_server.Batches.Text(batch.InputFileId)), l =>
        {
            Assert.Equal("/chat/completions", l["url"]!.GetValue<string>());
            Assert.Equal("gpt-4o-batch", l["body"]!["model"]!.GetValue<string>());
        });
    }

    [Fact]
    public async Task A_cancelled_batch_is_reported_cancelled_by_the_server()
    {
        // Given a submitted batch (cancelled before any line is answered)
        _server.Batches.AnsweredLines = 0;
        using var api = new BatchApi(Compatible);
        var (fileId, found) = await api.EnsureUploadedAsync("one.jsonl", "{}\n"u8.ToArray(), CancellationToken.None);
        var (batch, adopted) = await api.SubmitAsync(fileId, CancellationToken.None);

        // When it is cancelled and read again
        var cancelling = await api.CancelAsync(batch.Id, CancellationToken.None);
        var after = await api.GetAsync(batch.Id, CancellationToken.None);

        // Then
        Assert.False(found || adopted);
        Assert.Equal("cancelling", cancelling.Status);
        Assert.Equal((BatchApi.Cancelled, true), (after.Status, after.IsFinal));
        Assert.Contains(_server.Requests, r => (r.Method, r.Path) == ("POST", $"/v1/batches/{batch.Id}/cancel"));
    }

    [Fact]
    public async Task Batches_still_running_after_the_maximum_wait_stop_the_run_and_the_next_run_resumes_polling()
    {
        // Given a batch that needs many polls and a run that waits almost nothing
        _server.Batches.PollsBeforeDone = 1_000_000;
        var requests = Requests(2);

        // When the run gives up waiting
        await Assert.ThrowsAsync<BatchPendingException>(() => Run(requests, Fast() with { MaxWaitHours = 1e-6 }));

        // Then the state says polling, and the next run (now that the server finishes) resumes it without a new batch
        Assert.Equal(BatchPart.Polling, Assert.Single(State.Parts).State);
        _server.Batches.PollsBeforeDone = 0;
        var result = await Run(requests);
        Assert.Equal((1, 1, 2), (_server.Batches.Uploads, _server.Batches.Submissions, result.Collection.Answered));
    }

    private sealed class Sink(Action<StageProgress> report) : IProgress<StageProgress>
    {
        public void Report(StageProgress value) => report(value);
    }

    private sealed class SimulatedKill : Exception;
}
