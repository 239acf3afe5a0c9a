using Microsoft.AspNetCore.Http;
using Skim.Core.Stages;
using Skim.Distill.Responses;
using Skim.Distill.Teachers;
using Skim.Distill.Tests.Teachers;

namespace Skim.Distill.Tests.Responses;

public sealed class ResponseCollectorTests : IAsyncLifetime, IDisposable
{
    private const int Concurrency = 4;
    private const int Count = 40;
    private readonly TempDirectory _dir = new();
    private TeacherServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TeacherServer.StartAsync();
        var random = new Random(7);
        _server.Handler = async (request, _, context) =>
        {
            int delay;
            lock (random)
            {
                delay = random.Next(5, 30);
            }
            await Task.Delay(delay);
            await TeacherServer.Completion(context, "answer for " + TeacherServer.LastLine(request.Prompt));
        };
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    private ITeacherClient Client(int maxRetries = 0) => TeacherClients.Create(new TeacherClientOptions
    {
        Kind = TeacherClientOptions.Compatible,
        Endpoint = _server.BaseUrl + "/v1",
        Model = "m",
        Concurrency = Concurrency,
        MaxRetries = maxRetries,
        RetryDelaySeconds = 0.01,
    });

    private static List<TeacherRequest> Requests() =>
        [.. Enumerable.Range(0, Count).Select(i => new TeacherRequest($"key-{i}", i, $"uid-{i}", $"prompt\nitem {i}"))];

    private static Task<CollectionResult> Collect(ITeacherClient client, ResponseStore store, CancellationToken ct, IProgress<StageProgress>? progress = null) =>
        ResponseCollector.RunAsync(client, store, Requests(), new TeacherSettings(), Concurrency, new TokenPrices { InputPer1K = 1, OutputPer1K = 2 }, progress, ct);

    private static async Task WaitForAnswers(ResponseStore store, int target)
    {
        while (store.CompletedCount < target)
        {
            await Task.Delay(2);
        }
    }

    private int RepeatedRequests() =>
        _server.Requests.GroupBy(r => r.Prompt).Sum(g => g.Count() - 1);

    [Fact]
    public async Task A_killed_run_resumes_with_every_answer_stored_once_and_at_most_the_requests_in_flight_repeated()
    {
        // Given a run killed three times at random points (the store closed under it, answers in
        // flight lost) and once while a record was half written
        var path = _dir.File("responses.jsonl");
        using var client = Client();
        var random = new Random(11);
        const int kills = 3;
        var warnings = new List<string>();
        for (var kill = 0; kill < kills; kill++)
        {
            var store = ResponseStore.Open(path);
            warnings.AddRange(store.Warnings);
            var run = Collect(client, store, CancellationToken.None);
            await WaitForAnswers(store, Math.Min(Count - Concurrency, store.CompletedCount + random.Next(3, 9)));
            store.Dispose();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => run);
            if (kill == 1)
            {
                File.AppendAllText(path, "{\"key\":\"key-39\",\"index\":39,\"ui");
            }
        }

        // When the run is resumed to the end
        using var final = ResponseStore.Open(path);
        warnings.AddRange(final.Warnings);
        var result = await Collect(client, final, CancellationToken.None);

        // Then every item has exactly one answer, none was lost, and repeats are bounded by what was in flight
        Assert.Equal(Count, final.CompletedCount);
        Assert.All(Requests(), r => Assert.Equal("answer for item " + r.Index, final.Answer(r.Key)!.Responses[0]));
        Assert.Equal(0, final.DuplicateAnswers);
        Assert.InRange(RepeatedRequests(), 0, Concurrency * kills);
        Assert.Contains(warnings, w => w.Contains("incomplete", StringComparison.Ordinal));
        Assert.Equal(Count, result.Reused + result.Answered);
    }

    [Fact]
    public async Task A_cancelled_run_stores_the_answers_in_flight_and_resumes_without_repeating_any_request()
    {
        // Given a run cancelled three times at random points
        var path = _dir.File("responses.jsonl");
        using var client = Client();
        var random = new Random(5);
        for (var stop = 0; stop < 3; stop++)
        {
            using var store = ResponseStore.Open(path);
            using var cts = new CancellationTokenSource();
            var run = Collect(client, store, cts.Token);
            await WaitForAnswers(store, Math.Min(Count - Concurrency, store.CompletedCount + random.Next(3, 9)));
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        }

        // When it is resumed
        using var final = ResponseStore.Open(path);
        var progress = new List<StageProgress>();
        var result = await Collect(client, final, CancellationToken.None, new SyncProgress(progress));

        // Then no request was ever sent twice and every item has its answer
        Assert.Equal(0, RepeatedRequests());
        Assert.Equal(Count, _server.Requests.Count);
        Assert.Equal((Count, 0), (final.CompletedCount, final.DuplicateAnswers));
        Assert.True(result.Reused > 0);
        Assert.Equal((Count, (long)Count), (progress[^1].Done, progress[^1].Total));
        Assert.Contains("cost", progress[^1].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failures_are_stored_with_their_reason_and_retried_by_the_next_run()
    {
        // Given a server that fails items 0-4 with 503 on the first run
        var failing = true;
        _server.Handler = (request, _, context) =>
            failing && int.Parse(TeacherServer.LastLine(request.Prompt)["item ".Length..], System.Globalization.CultureInfo.InvariantCulture) < 5
                ? TeacherServer.Error(context, 503)
                : TeacherServer.Completion(context, "ok");
        var path = _dir.File("responses.jsonl");
        using var client = Client(maxRetries: 1);

        // When a run ends, and a second run follows once the server is well
        CollectionResult first;
        using (var store = ResponseStore.Open(path))
        {
            first = await Collect(client, store, CancellationToken.None);
        }
        failing = false;
        using var again = ResponseStore.Open(path);
        var second = await Collect(client, again, CancellationToken.None);

        // Then the failures were stored with their reason, and only they were sent again
        Assert.Equal((Count - 5, 5), (first.Answered, first.Failed));
        Assert.Equal(5, first.FailureReasons["http_503"]);
        Assert.Equal(5, again.Records.Count(r => r.Status == ResponseRecord.Failed && r.Reason == "http_503"));
        Assert.Equal((5, Count - 5, 5), (second.Sent, second.Reused, second.Answered));
        Assert.Equal(Count, again.CompletedCount);
    }

    [Fact]
    public async Task A_content_filter_refusal_is_stored_as_a_failure_with_that_reason()
    {
        _server.Handler = (request, _, context) => TeacherServer.Completion(context, "", finishReason: "content_filter");
        using var client = Client();
        using var store = ResponseStore.Open(_dir.File("responses.jsonl"));

        var result = await Collect(client, store, CancellationToken.None);

        Assert.Equal(Count, result.FailureReasons["content_filter"]);
        Assert.All(store.Records, r => Assert.Equal((ResponseRecord.Failed, "content_filter"), (r.Status, r.Reason)));
    }

    private sealed class SyncProgress(List<StageProgress> sink) : IProgress<StageProgress>
    {
        public void Report(StageProgress value)
        {
            lock (sink)
            {
                sink.Add(value);
            }
        }
    }
}
