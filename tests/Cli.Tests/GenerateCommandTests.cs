using System.Text.Json;

namespace Skim.Cli.Tests;

[Collection(CliLibTorchCollection.Name)]
public sealed class GenerateCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Generation_from_a_model_made_by_init_writes_one_record_per_prompt_and_repeats_under_the_same_seed()
    {
        // Given a tiny Llama with a tokenizer trained on a small corpus, and two prompts in both accepted forms
        var corpus = _dir.File("corpus.txt");
        File.WriteAllLines(corpus, Enumerable.Range(0, 120).Select(i => $"page {i % 17}: list directory contents and print matching lines {i % 5}"));
        var init = await CliTestHost.RunAsync("model", "init", "--arch", "llama", "--preset", "tiny", "--tokenizer", $"train:{corpus}", "--vocab-size", "300", "--out", _dir.File("m"));
        Assert.Equal(0, init.ExitCode);
        var prompts = _dir.File("prompts.jsonl");
        File.WriteAllLines(prompts, ["{\"prompt\": \"ls: list directory\"}", "\"grep: print lines\""]);

        // When it generates twice with one seed
        string[] Args(string output) => ["generate", "--model", _dir.File("m"), "--prompts", prompts, "--out", output, "--max-new-tokens", "6", "--seed", "11"];
        var first = await CliTestHost.RunAsync(Args(_dir.File("a.jsonl")));
        var second = await CliTestHost.RunAsync(Args(_dir.File("b.jsonl")));

        // Then both succeed, each prompt has a record with its own text and token counts, and the runs agree
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, second.ExitCode);
        var lines = File.ReadAllLines(_dir.File("a.jsonl"));
        Assert.Equal(2, lines.Length);
        using var record = JsonDocument.Parse(lines[1]);
        Assert.Equal("grep: print lines", record.RootElement.GetProperty("prompt").GetString());
        Assert.InRange(record.RootElement.GetProperty("generated_tokens").GetInt32(), 1, 6);
        Assert.Equal(lines, File.ReadAllLines(_dir.File("b.jsonl")));
    }

    [Fact]
    public async Task An_empty_model_folder_is_one_error_line_naming_it_and_exit_code_2()
    {
        // Given an empty model folder and a prompt file
        Directory.CreateDirectory(_dir.File("empty"));
        File.WriteAllText(_dir.File("p.jsonl"), "\"hello\"\n");

        // When generation is asked of it
        var run = await CliTestHost.RunAsync("generate", "--model", _dir.File("empty"), "--prompts", _dir.File("p.jsonl"), "--out", _dir.File("o.jsonl"));

        // Then it fails on one line naming the folder and what it lacks, and writes nothing
        Assert.Equal(SkimCli.InputError, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains(_dir.File("empty"), line, StringComparison.Ordinal);
        Assert.Contains("expected", line, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("o.jsonl")));
    }

    [Fact]
    public async Task Generation_in_bfloat16_on_the_cpu_writes_a_record_per_prompt_and_repeats_under_the_same_seed()
    {
        // Given a tiny Llama made by init and three prompts
        var corpus = _dir.File("corpus.txt");
        File.WriteAllLines(corpus, Enumerable.Range(0, 120).Select(i => $"page {i % 13}: copy files and show the manual {i % 7}"));
        var init = await CliTestHost.RunAsync("model", "init", "--arch", "llama", "--preset", "tiny", "--tokenizer", $"train:{corpus}", "--vocab-size", "300", "--out", _dir.File("m"));
        Assert.Equal(0, init.ExitCode);
        var prompts = _dir.File("prompts.jsonl");
        File.WriteAllLines(prompts, ["\"cp: copy\"", "\"man: show\"", "\"page 3\""]);

        // When it generates twice in bfloat16 on the CPU with one seed
        string[] Args(string output) => ["generate", "--model", _dir.File("m"), "--prompts", prompts, "--out", output, "--max-new-tokens", "5", "--seed", "3", "--dtype", "bfloat16", "--device", "cpu"];
        var first = await CliTestHost.RunAsync(Args(_dir.File("a.jsonl")));
        var second = await CliTestHost.RunAsync(Args(_dir.File("b.jsonl")));

        // Then both succeed with a record per prompt and agree (the half-precision path is deterministic too)
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, second.ExitCode);
        var lines = File.ReadAllLines(_dir.File("a.jsonl"));
        Assert.Equal(3, lines.Length);
        Assert.All(lines, line =>
        {
            using var record = JsonDocument.Parse(line);
            Assert.InRange(record.RootElement.GetProperty("generated_tokens").GetInt32(), 1, 5);
        });
        Assert.Equal(lines, File.ReadAllLines(_dir.File("b.jsonl")));
    }
}
