using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Stages;
using Skim.Distill.Responses;
using Skim.Distill.Step0;
using Skim.Distill.Teachers.Batch;
using Skim.Distill.Tests.Teachers;

namespace Skim.Distill.Tests.Step0;

public sealed class Step0BatchTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _dir = new();
    private TeacherServer _server = null!;

    private static string Demo => Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo");

    private static string QueryTemplate => Path.Combine(PythonReference.RepositoryRoot, "prompts", "query-generation.txt");

    public async Task InitializeAsync() => _server = await TeacherServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    private Step0Options Options(string folder, string mode) => new()
    {
        DatasetDirectory = Demo,
        TemplatePath = QueryTemplate,
        OutputDirectory = _dir.File(folder),
        Teacher = "compatible",
        Endpoint = _server.BaseUrl + "/v1",
        Model = "teacher",
        Items = 20,
        Seed = 3,
        Concurrency = 4,
        MaxRetries = 1,
        RetryDelaySeconds = 0.01,
        Mode = mode,
        PollIntervalSeconds = 0.01,
    };

    private static Task<JsonObject> Run(Step0Options options) => ((IStage)new Step0Stage()).RunAsync(options, null, CancellationToken.None);

    private int ChatRequests => _server.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));

    private static HashSet<string> Keys(Step0Options options)
    {
        using var store = ResponseStore.Open(Path.Combine(options.OutputDirectory, ResponseStore.FileName));
        return [.. store.Records.Where(r => r.IsOk).Select(r => r.Key)];
    }

    [Fact]
    public async Task Batch_mode_stores_answers_under_the_live_keys_so_a_live_run_afterwards_sends_nothing()
    {
        // Given the demo dataset and a compatible server with a Batch API
        var batch = Options("batch", Step0Options.Batch);

        // When step-0 runs in batch mode
        var summary = await Run(batch);

        // Then the answers went through one batch, none live, and the SFT data is written
        Assert.Equal(0, ChatRequests);
        Assert.Equal((20, 20, 1), (summary["requests_answered"]!.GetValue<int>(), summary["requests_sent"]!.GetValue<int>(), summary["batches"]!.GetValue<int>()));
        Assert.Equal("batch", summary["mode"]!.GetValue<string>());
        Assert.Equal(BatchPart.Imported, Assert.Single(BatchState.Read(batch.OutputDirectory)!.Parts).State);
        Assert.True(File.Exists(Path.Combine(batch.OutputDirectory, "sft", "train.json")));

        // When the same folder is then run live
        var live = await Run(batch with { Mode = Step0Options.Live });

        // Then no request is sent: every key was answered by the batch
        Assert.Equal(0, ChatRequests);
        Assert.Equal((0, 20), (live["requests_sent"]!.GetValue<int>(), live["requests_reused"]!.GetValue<int>()));

        // And a live run from scratch in another folder stores exactly the same keys
        var fresh = Options("live", Step0Options.Live);
        await Run(fresh);
        Assert.Equal(20, ChatRequests);
        Assert.Equal(Keys(fresh).Order(), Keys(batch).Order());
    }

    [Fact]
    public async Task A_connection_lost_after_the_batch_was_submitted_keeps_the_batch_state_for_the_next_run()
    {
        // Given a server that goes away as soon as the batch is submitted
        var doomed = await TeacherServer.StartAsync();
        doomed.Batches.PollsBeforeDone = 1_000;
        var options = Options("lost", Step0Options.Batch) with { Endpoint = doomed.BaseUrl + "/v1" };
        var stopped = false;
        var sink = new Sink(_ =>
        {
            if (!stopped && BatchState.Read(options.OutputDirectory) is { Parts: [{ State: BatchPart.Submitted }] })
            {
                stopped = true;
                doomed.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        });

        // When step-0 runs in batch mode
        var error = await Assert.ThrowsAsync<SkimConfigException>(() => ((IStage)new Step0Stage()).RunAsync(options, sink, CancellationToken.None));

        // Then the error is one line naming the endpoint, and the submitted batch stays on record
        Assert.True(stopped);
        Assert.StartsWith("endpoint: cannot reach", error.Message, StringComparison.Ordinal);
        Assert.Contains(BatchState.FileName, error.Message, StringComparison.Ordinal);
        var part = Assert.Single(BatchState.Read(options.OutputDirectory)!.Parts);
        Assert.Equal((BatchPart.Submitted, doomed.Batches.Created[0].Id), (part.State, part.BatchId));
    }

    [Fact]
    public async Task An_unreachable_endpoint_in_batch_mode_is_one_error_and_nothing_is_written()
    {
        // Given a port nobody listens on
        var free = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        free.Start();
        var port = ((System.Net.IPEndPoint)free.LocalEndpoint).Port;
        free.Stop();
        var options = Options("unreachable", Step0Options.Batch) with { Endpoint = $"http://127.0.0.1:{port}/v1" };

        // When
        var error = await Assert.ThrowsAsync<SkimConfigException>(() => Run(options));

        // Then
        Assert.StartsWith("endpoint: cannot reach", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
    }

    [Fact]
    public void Batch_mode_with_the_local_extractive_teacher_is_one_error_naming_the_mode()
    {
        var options = Options("x", Step0Options.Batch) with { Teacher = "local-extractive", Endpoint = null };

        var error = Assert.Throws<SkimConfigException>(options.Validate);

        Assert.StartsWith("mode:", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
    }

    [Fact]
    public void An_unknown_mode_is_one_error_naming_the_option()
    {
        var error = Assert.Throws<SkimConfigException>(() => Options("x", "bulk").Validate());

        Assert.Equal("mode: expected live or batch, found 'bulk'", error.Message);
    }

    private sealed class Sink(Action<StageProgress> report) : IProgress<StageProgress>
    {
        public void Report(StageProgress value) => report(value);
    }
}
