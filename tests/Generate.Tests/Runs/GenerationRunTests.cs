using System.Text.Json;
using Skim.Generate.Runs;
using Skim.Generate.Sharding;
using Skim.Models.Generation;
using Skim.Models.ModelFactory;

namespace Skim.Generate.Tests.Runs;

[Collection(GenerateLibTorchCollection.Name)]
public sealed class GenerationRunTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Three_shards_write_the_records_of_one_whole_run_with_global_indices()
    {
        // Given a tiny Llama made by init, seven prompts, and greedy decoding one prompt at a time (so batch composition cannot change a token)
        var model = TinyModel();
        var prompts = _dir.File("prompts.jsonl");
        File.WriteAllLines(prompts, Enumerable.Range(0, 7).Select(i => $"\"page {i}: list files {i % 3}\""));
        var generation = new GenerationOptions { MaxNewTokens = 5, Temperature = 0, BatchSize = 1 };
        GenerationRunOptions Options(string output, ShardSpec shard) => new()
        {
            ModelDirectory = model,
            PromptsPath = prompts,
            OutputPath = output,
            Generation = generation,
            Device = "cpu",
            Shard = shard,
        };

        // When the whole file is generated once, and again as shards 0/3, 1/3, 2/3
        var whole = await GenerationRun.RunAsync(Options(_dir.File("all.jsonl"), ShardSpec.All));
        var parts = new List<string>();
        for (var k = 0; k < 3; k++)
        {
            var result = await GenerationRun.RunAsync(Options(_dir.File($"s{k}.jsonl"), new ShardSpec(k, 3)));
            Assert.Equal(new ShardSpec(k, 3).Range(7).Start, result.FirstPrompt);
            parts.AddRange(File.ReadAllLines(result.OutputPath));
        }

        // Then the shards' records, joined in order, are the whole run's, indices 0..6 once each
        Assert.Equal(7, whole.Prompts);
        var lines = File.ReadAllLines(_dir.File("all.jsonl"));
        Assert.Equal(lines, parts);
        Assert.Equal(Enumerable.Range(0, 7), lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("index").GetInt32()));
        Assert.Equal(whole.GeneratedTokens, lines.Sum(l => JsonDocument.Parse(l).RootElement.GetProperty("generated_tokens").GetInt32()));
    }

    [Fact]
    public async Task Progress_reaches_every_prompt_and_a_cancelled_run_leaves_no_output_file()
    {
        // Given a tiny model and four prompts
        var model = TinyModel();
        var prompts = _dir.File("prompts.jsonl");
        File.WriteAllLines(prompts, ["\"a\"", "\"b\"", "\"c\"", "\"d\""]);
        var reports = new List<GenerationRunProgress>();
        var progress = new SynchronousProgress<GenerationRunProgress>(reports.Add);

        // When one run completes and another is cancelled before it starts generating
        var options = new GenerationRunOptions
        {
            ModelDirectory = model,
            PromptsPath = prompts,
            OutputPath = _dir.File("done.jsonl"),
            Generation = new GenerationOptions { MaxNewTokens = 3, BatchSize = 2 },
            Device = "cpu",
        };
        await GenerationRun.RunAsync(options, progress);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => GenerationRun.RunAsync(options with { OutputPath = _dir.File("cancelled.jsonl") }, null, cancelled.Token));

        // Then progress went 0, 2, 4 of 4, and the cancelled run wrote nothing
        Assert.Equal([0, 2, 4], reports.Select(r => r.PromptsDone));
        Assert.All(reports, r => Assert.Equal(4, r.PromptsTotal));
        Assert.Equal(4, File.ReadAllLines(_dir.File("done.jsonl")).Length);
        Assert.False(File.Exists(_dir.File("cancelled.jsonl")));
    }

    private string TinyModel()
    {
        var corpus = _dir.File("corpus.txt");
        File.WriteAllLines(corpus, Enumerable.Range(0, 100).Select(i => $"page {i % 11}: list files and print matching lines {i % 3}"));
        var output = _dir.File("model");
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = "llama",
            Preset = "tiny",
            Tokenizer = ModelInitOptions.TrainPrefix + corpus,
            OutputDirectory = output,
            VocabSize = 300,
            Seed = 5,
        });
        return output;
    }

    // Progress<T> posts to the thread pool; a test needs the reports in order, at once.
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GenerateLibTorchCollection
{
    public const string Name = "Generate libtorch";
}
