using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Manifests;
using Skim.Core.Stages;
using Skim.Distill.Responses;
using Skim.Distill.Sft;
using Skim.Distill.Step0;
using Skim.Distill.Tests.Teachers;

namespace Skim.Distill.Tests.Step0;

public sealed class Step0StageTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _dir = new();
    private TeacherServer _server = null!;

    private static string Demo => Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo");

    private static string QueryTemplate => Path.Combine(PythonReference.RepositoryRoot, "prompts", "query-generation.txt");

    public async Task InitializeAsync() => _server = await TeacherServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    private Step0Options Local(int items = 50) => new()
    {
        DatasetDirectory = Demo,
        TemplatePath = QueryTemplate,
        OutputDirectory = _dir.File("step0"),
        Teacher = "local-extractive",
        Items = items,
        Seed = 1,
    };

    private Step0Options Compatible(int items = 30) => Local(items) with
    {
        Teacher = "compatible",
        Endpoint = _server.BaseUrl + "/v1",
        Model = "teacher",
        Concurrency = 4,
        MaxRetries = 1,
        RetryDelaySeconds = 0.01,
    };

    private static Task<JsonObject> Run(Step0Options options, IProgress<StageProgress>? progress = null, CancellationToken ct = default) =>
        ((IStage)new Step0Stage()).RunAsync(options, progress, ct);

    [Fact]
    public async Task Local_extractive_on_the_demo_dataset_writes_prompts_responses_SFT_data_and_a_complete_manifest()
    {
        // Given the demo dataset, the query-generation template and 50 items
        var options = Local();

        // When step-0 runs, and runs again on the finished folder
        var summary = await Run(options);
        var again = await Run(options);

        // Then every file is there, SFT instructions are exactly the rendered prompts, and the second run sent nothing
        var folder = options.OutputDirectory;
        Assert.Equal(["manifest.json", "prompts.jsonl", "responses.jsonl"], Directory.GetFiles(folder).Select(Path.GetFileName).Order());
        Assert.Equal(50, summary["items_sampled"]!.GetValue<int>());
        Assert.Equal(50, summary["requests_answered"]!.GetValue<int>());
        var prompts = File.ReadAllLines(Path.Combine(folder, "prompts.jsonl")).Select(l => JsonNode.Parse(l)!["prompt"]!.GetValue<string>()).ToHashSet();
        Assert.Equal(50, prompts.Count);
        Assert.All(prompts, p => Assert.Contains("### Webpage Text", p, StringComparison.Ordinal));
        var train = SftBuilder.Read(Path.Combine(folder, "sft", "train.json"));
        var val = SftBuilder.Read(Path.Combine(folder, "sft", "val.json"));
        Assert.True(train.Count >= 40, $"{train.Count} train records");
        Assert.InRange(val.Count, 1, 5);
        Assert.All(train.Concat(val), r => Assert.Contains(r.Instruction, prompts));
        Assert.All(train, r => Assert.Equal(r.Output, r.Output.ToLowerInvariant()));
        Assert.Equal(50, train.Count + val.Count + summary["sft_dropped"]!.AsObject().Sum(p => p.Value!.GetValue<int>()));
        var manifest = RunManifest.Read(folder)!;
        Assert.True(manifest.Complete);
        Assert.Equal("step-0", manifest.Stage);
        Assert.Equal("query-side", manifest.Options["orientation"]!.GetValue<string>());
        Assert.Equal((0, 50), (again["requests_sent"]!.GetValue<int>(), again["requests_reused"]!.GetValue<int>()));
    }

    [Fact]
    public async Task A_cancelled_run_keeps_its_answers_and_the_resumed_run_repeats_no_request()
    {
        // Given a compatible teacher and a run cancelled after about ten answers
        _server.Handler = async (request, _, context) =>
        {
            await Task.Delay(10);
            await TeacherServer.Completion(context, "loire boat trips\nchateaux along the loire");
        };
        var options = Compatible();
        using var cts = new CancellationTokenSource();
        var progress = new CancelAt(10, cts);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run(options, progress, cts.Token));
        Assert.False(RunManifest.Read(options.OutputDirectory)!.Complete);
        Assert.False(File.Exists(Path.Combine(options.OutputDirectory, "sft", "train.json")));

        // When it is resumed
        var summary = await Run(options);

        // Then nothing was asked twice
        Assert.Equal(30, _server.Requests.Count);
        Assert.Equal(30, _server.Requests.Select(r => r.Prompt).Distinct().Count());
        Assert.True(summary["requests_reused"]!.GetValue<int>() >= 10);
        Assert.Equal(0, summary["duplicate_answers"]!.GetValue<int>());
        Assert.Equal(30, summary["sft_train"]!.GetValue<int>() + summary["sft_val"]!.GetValue<int>());
        Assert.True(RunManifest.Read(options.OutputDirectory)!.Complete);
    }

    [Fact]
    public async Task SKIM_provided_responses_are_imported_as_answered_requests()
    {
        // Given provided answers for items 0 to 2
        var provided = _dir.File("provided");
        Directory.CreateDirectory(provided);
        File.WriteAllText(Path.Combine(provided, "responses_0_to_3.json"), "[\"gpt four query a\", \"gpt four query b\", \"gpt four query c\"]");

        // When step-0 samples 5 items and imports them
        var summary = await Run(Local(5) with { ImportDirectory = provided });

        // Then the imports are stored as answers and reach the SFT data
        Assert.Equal(3, summary["items_imported"]!.GetValue<int>());
        using var store = ResponseStore.Open(Path.Combine(_dir.File("step0"), ResponseStore.FileName));
        var imported = store.Records.Where(r => r.Source == ResponseRecord.ImportSource).ToList();
        Assert.Equal([0, 1, 2], imported.Select(r => r.Index).Order());
        var outputs = SftBuilder.Read(_dir.File("step0/sft/train.json")).Concat(SftBuilder.Read(_dir.File("step0/sft/val.json"))).Select(r => r.Output).ToList();
        Assert.Contains("gpt four query b", outputs);
    }

    [Fact]
    public async Task A_missing_key_variable_is_one_error_and_nothing_is_written()
    {
        var options = Compatible() with { Teacher = "openai", ApiKeyVariable = "SKIM_TEST_UNSET_" + Guid.NewGuid().ToString("N") };

        var error = await Assert.ThrowsAsync<SkimConfigException>(() => Run(options));

        Assert.Contains(options.ApiKeyVariable!, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_one_error_after_the_retries_and_nothing_is_written()
    {
        // Given a port nobody listens on (the server is stopped)
        var url = _server.BaseUrl;
        await _server.DisposeAsync();
        _server = await TeacherServer.StartAsync();
        var options = Compatible(5) with { Endpoint = url + "/v1" };

        var error = await Assert.ThrowsAsync<SkimConfigException>(() => Run(options));

        Assert.Contains("cannot reach", error.Message, StringComparison.Ordinal);
        Assert.Contains(url, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
    }

    [Fact]
    public async Task An_unknown_placeholder_is_one_error_naming_it_and_its_field_and_nothing_is_written()
    {
        var options = Local() with { Fields = new Dictionary<string, string> { ["page_body"] = "text" } };

        var error = await Assert.ThrowsAsync<SkimConfigException>(() => Run(options));

        Assert.Contains("{page_body}", error.Message, StringComparison.Ordinal);
        Assert.Contains("'text'", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
    }

    [Fact]
    public async Task Zero_items_is_one_error_naming_the_option()
    {
        var options = Local(0);

        var error = await Assert.ThrowsAsync<SkimConfigException>(() => Run(options));

        Assert.StartsWith("items:", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
    }

    [Fact]
    public async Task An_empty_sample_is_one_error_and_nothing_is_written()
    {
        // Given a dataset whose labels have no text
        var dataset = SyntheticXcDataset.Write(_dir);
        File.WriteAllLines(Path.Combine(dataset, "raw", "Y.txt"), Enumerable.Repeat("", 8));
        var options = Local(5) with { DatasetDirectory = dataset, TemplatePath = WriteTemplate("{text}") };

        var error = await Assert.ThrowsAsync<SkimDataException>(() => Run(options));

        Assert.Contains("sample is empty", error.Message, StringComparison.Ordinal);
        Assert.Contains("8 of them without metadata", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
    }

    [Fact]
    public async Task A_corrupt_responses_file_is_one_error_naming_its_line_and_nothing_else_is_written()
    {
        // Given a folder whose responses.jsonl has a corrupt first of two lines
        var options = Local(5);
        Directory.CreateDirectory(options.OutputDirectory);
        var path = Path.Combine(options.OutputDirectory, ResponseStore.FileName);
        var good = JsonSerializer.Serialize(new ResponseRecord { Key = "k", Uid = "u", Status = ResponseRecord.Ok, Responses = ["q"] });
        File.WriteAllText(path, "{\"key\": oops\n" + good + "\n");

        // When
        var error = await Assert.ThrowsAsync<SkimFormatException>(() => Run(options));

        // Then
        Assert.Equal((path, "line 1"), (error.Path, error.Location));
        Assert.Equal([ResponseStore.FileName], Directory.GetFileSystemEntries(options.OutputDirectory).Select(Path.GetFileName));
    }

    private string WriteTemplate(string text)
    {
        var path = _dir.File("template.txt");
        File.WriteAllText(path, text);
        return path;
    }

    private sealed class CancelAt(int done, CancellationTokenSource cts) : IProgress<StageProgress>
    {
        public void Report(StageProgress value)
        {
            if (value.Done >= done)
            {
                cts.Cancel();
            }
        }
    }
}
