using System.Text;
using System.Text.Json.Nodes;
using Parquet.Serialization;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.Manifests;
using Skim.Core.Stages;
using Skim.Generate.Backends;
using Skim.Generate.Step1;
using Skim.Generate.Tests.Runs;

namespace Skim.Generate.Tests.Step1;

[Collection(GenerateLibTorchCollection.Name)]
public sealed class Step1StageTests(Step1Fixture fixture) : IClassFixture<Step1Fixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_slice_of_the_demo_gives_one_query_group_per_item_that_tiles_the_query_lines()
    {
        // Given the first 12 items of the demo dataset and a tiny model
        var options = fixture.Options(_dir.File("run"));

        // When step-1 runs
        var summary = await Run(options);

        // Then start_indices has 13 int64 offsets, monotone from 0, ending at the line count of raw_rewrites.txt
        var header = NpyFile.ReadHeader(Path.Combine(options.OutputDirectory, Step1Outputs.StartIndicesFile));
        Assert.Equal(NpyDType.Int64, header.DType);
        var starts = NpyFile.Read(Path.Combine(options.OutputDirectory, Step1Outputs.StartIndicesFile)).As<long>();
        var lines = File.ReadAllLines(Path.Combine(options.OutputDirectory, Step1Outputs.QueriesFile));
        Assert.Equal(13, starts.Length);
        Assert.Equal(0, starts[0]);
        Assert.All(Enumerable.Range(1, 12), i => Assert.True(starts[i] >= starts[i - 1]));
        Assert.Equal(lines.Length, starts[^1]);
        Assert.Equal(12, Step1Outputs.ValidateImport(Path.Combine(options.OutputDirectory, Step1Outputs.QueriesFile), Path.Combine(options.OutputDirectory, Step1Outputs.StartIndicesFile), 12));
        Assert.All(lines, l => Assert.False(string.IsNullOrWhiteSpace(l)));

        // And generations.parquet has one row per item, in order, with tokens and finish reasons; the manifest is complete
        var rows = await ReadParquet(options.OutputDirectory);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), rows.Select(r => r.Item));
        Assert.All(rows, r => Assert.InRange(r.GeneratedTokens, 1, 12));
        Assert.All(rows, r => Assert.True(r.FinishReason is "stop" or "length", r.FinishReason));
        Assert.All(rows, r => Assert.StartsWith("torch llama", r.Backend, StringComparison.Ordinal));
        Assert.Equal(12, summary["items"]!.GetValue<int>());
        Assert.Equal(lines.Length, summary["queries"]!.GetValue<long>());
        var manifest = RunManifest.Read(options.OutputDirectory)!;
        Assert.True(manifest.Complete);
        Assert.Equal(Step1Stage.StageKind, manifest.Stage);
        Assert.Contains(manifest.Outputs, f => f.Path == Step1Outputs.QueriesFile);
    }

    [Fact]
    public async Task Batch_sizes_one_and_eight_give_identical_outputs_under_the_same_seed()
    {
        // Given the same job with batches of 1 and of 8
        var one = fixture.Options(_dir.File("b1"), batchSize: 1);
        var eight = fixture.Options(_dir.File("b8"), batchSize: 8);

        // When both run
        await Run(one);
        await Run(eight);

        // Then every output file says the same
        await AssertSameOutputs(one.OutputDirectory, eight.OutputDirectory);
    }

    [Fact]
    public async Task A_run_cancelled_after_some_batches_with_a_torn_last_line_resumes_to_the_uninterrupted_outputs()
    {
        // Given an uninterrupted run, and the same job in batches of 2 cancelled after its second batch
        var whole = fixture.Options(_dir.File("whole"));
        await Run(whole);
        var killed = fixture.Options(_dir.File("killed"), batchSize: 2);
        using var cancel = new CancellationTokenSource();
        var batches = 0;
        var progress = new SynchronousProgress<StageProgress>(p =>
        {
            if (p.Phase == "generate" && p.Done > 0 && ++batches == 2)
            {
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run(killed, progress, ct: cancel.Token));

        // And a kill that tore the file mid-line
        var state = Step1Layout.StateFile(killed);
        Assert.Equal(4, ShardStateFile.Read(state).Count);
        File.AppendAllText(state, "{\"item\":11,\"uid\":\"x\",\"te", new UTF8Encoding(false));
        Assert.False(RunManifest.Read(killed.OutputDirectory)!.Complete);

        // When it runs again, counting what the engine is asked for
        var asked = new List<long>();
        await Run(killed, stage: new Step1Stage(o => new RecordingBackend(GenerationBackends.Create(o), asked)));

        // Then only the 8 unfinished items were generated, and the outputs equal the uninterrupted run's
        Assert.Equal(8, asked.Count);
        Assert.Equal(12, ShardStateFile.Read(state).Count);
        await AssertSameOutputs(whole.OutputDirectory, killed.OutputDirectory);
    }

    [Fact]
    public async Task Three_shards_merged_equal_one_run_and_a_missing_shard_is_named_with_its_items()
    {
        // Given one run and the same job as three shards in one folder, the middle one at first left out
        var single = fixture.Options(_dir.File("single"));
        await Run(single);
        var sharded = _dir.File("sharded");
        await Run(fixture.Options(sharded) with { Shard = "0/3" });
        await Run(fixture.Options(sharded) with { Shard = "2/3" });

        // When the two are merged, then the third is run and all are merged
        var missing = await Assert.ThrowsAsync<SkimDataException>(() => Step1Merge.RunAsync(sharded));
        await Run(fixture.Options(sharded) with { Shard = "1/3" });
        var summary = await Step1Merge.RunAsync(sharded);

        // Then the first merge names items 4..7 and shard 1/3, and the full merge equals the single run
        Assert.Contains("items 4..7 missing", missing.Message, StringComparison.Ordinal);
        Assert.Contains("1/3 not found", missing.Message, StringComparison.Ordinal);
        Assert.Equal(3, summary["shards"]!.GetValue<int>());
        await AssertSameOutputs(single.OutputDirectory, sharded, sameShard: false);
        Assert.True(RunManifest.Read(sharded)!.Complete);
        var freshness = StageFreshness.Decide(new Step1Stage(), fixture.Options(sharded));
        Assert.Equal(StageAction.Skip, freshness.Action);
    }

    [Fact]
    public async Task A_placeholder_without_an_item_field_is_one_error_naming_it_and_a_field_mapping_fixes_it()
    {
        // Given a template with a placeholder {page_body} that no item field is called
        var template = _dir.File("template.txt");
        File.WriteAllText(template, "Page {url}\n{page_body}\n### Task Output\n");
        var options = fixture.Options(_dir.File("run"), items: 2) with { TemplatePath = template };

        // When it runs without and with --field page_body=text
        var error = await Assert.ThrowsAsync<SkimConfigException>(() => Run(options));
        var mapped = await Run(options with { Fields = new Dictionary<string, string> { ["page_body"] = "text" } });
        var unknown = await Assert.ThrowsAsync<SkimConfigException>(() => Run(options with { Fields = new Dictionary<string, string> { ["page_body"] = "body" } }));

        // Then the error names the template and the placeholder, the mapping runs, and an unknown field is named
        Assert.Contains("placeholder '{page_body}' of ", error.Message, StringComparison.Ordinal);
        Assert.Contains("template.txt maps to field 'page_body', which items do not have", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, mapped["items"]!.GetValue<int>());
        Assert.Contains("maps to field 'body', which items do not have", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_without_tokenizer_and_a_shard_beyond_its_count_are_one_error_each()
    {
        // Given a model folder holding only config.json, and a shard 4/3
        var bare = _dir.File("bare");
        Directory.CreateDirectory(bare);
        File.Copy(Path.Combine(fixture.ModelDirectory, "config.json"), Path.Combine(bare, "config.json"));

        // When each runs
        var noTokenizer = await Assert.ThrowsAsync<SkimFormatException>(() => Run(fixture.Options(_dir.File("a")) with { ModelDirectory = bare }));
        var badShard = Assert.Throws<SkimConfigException>(() => (fixture.Options(_dir.File("b")) with { Shard = "4/3" }).Validate());

        // Then each message names the problem
        Assert.Contains("no tokenizer files", noTokenizer.Message, StringComparison.Ordinal);
        Assert.Contains("shard '4/3'", badShard.Message, StringComparison.Ordinal);
        Assert.Contains("0 <= K < N = 3", badShard.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Provided_skim_generations_are_accepted_when_consistent_and_refused_with_one_error_otherwise()
    {
        // Given a consistent pair (3 items: 2, 0 and 1 queries), one whose last offset overshoots, and one not starting at 0
        var queries = _dir.File("raw_rewrites.txt");
        File.WriteAllText(queries, "a\nb\nc\n");
        var good = _dir.File("good.npy");
        var overshoot = _dir.File("overshoot.npy");
        var offset = _dir.File("offset.npy");
        NpyFile.Write(good, NpyArray.Create(new long[] { 0, 2, 2, 3 }, 4));
        NpyFile.Write(overshoot, NpyArray.Create(new long[] { 0, 2, 2, 4 }, 4));
        NpyFile.Write(offset, NpyArray.Create(new long[] { 1, 2, 3 }, 3));

        // When each is validated
        var items = Step1Outputs.ValidateImport(queries, good);
        var tooFar = Assert.Throws<SkimFormatException>(() => Step1Outputs.ValidateImport(queries, overshoot));
        var notZero = Assert.Throws<SkimFormatException>(() => Step1Outputs.ValidateImport(queries, offset));
        var wrongCount = Assert.Throws<SkimFormatException>(() => Step1Outputs.ValidateImport(queries, good, expectedItems: 5));

        // Then the good pair holds 3 items and each bad one names its entry
        Assert.Equal(3, items);
        Assert.Contains("entry 3: expected the last offset to equal the 3 lines", tooFar.Message, StringComparison.Ordinal);
        Assert.Contains("entry 0: expected the first offset to be 0", notZero.Message, StringComparison.Ordinal);
        Assert.Contains("expected 6 offsets", wrongCount.Message, StringComparison.Ordinal);
    }

    private static Task<JsonObject> Run(Step1Options options, IProgress<StageProgress>? progress = null, IStage? stage = null, CancellationToken ct = default) =>
        (stage ?? new Step1Stage()).RunAsync(options, progress, ct);

    private static async Task<List<Step1Record>> ReadParquet(string directory)
    {
        var rows = await ParquetSerializer.DeserializeAsync<Step1Record>(Path.Combine(directory, Step1Outputs.GenerationsFile));
        return [.. rows.Data];
    }

    private static async Task AssertSameOutputs(string expected, string actual, bool sameShard = true)
    {
        Assert.Equal(File.ReadAllBytes(Path.Combine(expected, Step1Outputs.QueriesFile)), File.ReadAllBytes(Path.Combine(actual, Step1Outputs.QueriesFile)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(expected, Step1Outputs.StartIndicesFile)), File.ReadAllBytes(Path.Combine(actual, Step1Outputs.StartIndicesFile)));
        var left = await ReadParquet(expected);
        var right = await ReadParquet(actual);
        if (!sameShard)
        {
            left = [.. left.Select(r => r with { Shard = "" })];
            right = [.. right.Select(r => r with { Shard = "" })];
        }
        Assert.Equal(left, right);
    }

    // Progress<T> posts to the thread pool; the test needs each report at once, in order.
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private sealed class RecordingBackend(IGenerationBackend inner, List<long> asked) : IGenerationBackend
    {
        public string Description => inner.Description;

        public Task<IReadOnlyList<BackendOutput>> GenerateAsync(IReadOnlyList<BackendRequest> batch, CancellationToken ct)
        {
            asked.AddRange(batch.Select(r => r.Item));
            return inner.GenerateAsync(batch, ct);
        }

        public void Dispose() => inner.Dispose();
    }
}
