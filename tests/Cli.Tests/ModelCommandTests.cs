namespace Skim.Cli.Tests;

public sealed class ModelCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _corpus;

    public ModelCommandTests()
    {
        _corpus = _dir.File("corpus.txt");
        var words = new[] { "the", "cat", "sat", "on", "mat", "labels", "queries", "missing", "model", "knowledge" };
        File.WriteAllLines(_corpus, Enumerable.Range(0, 200).Select(i => string.Join(' ', Enumerable.Range(0, 6).Select(j => words[(i * 3 + j * j) % words.Length]))));
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Init_then_info_describes_the_created_decoder()
    {
        // Given a tiny Llama created from the corpus
        var init = await CliTestHost.RunAsync("model", "init", "--arch", "llama", "--preset", "tiny", "--tokenizer", $"train:{_corpus}", "--vocab-size", "300", "--out", _dir.File("m"));

        // When its info is asked for
        var info = await CliTestHost.RunAsync("model", "info", _dir.File("m"));

        // Then both succeed and info reports the architecture, the byte-level tokenizer and the strict load
        Assert.Equal(0, init.ExitCode);
        Assert.Contains("created", init.Output, StringComparison.Ordinal);
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("LlamaForCausalLM", info.Output, StringComparison.Ordinal);
        Assert.Matches(@"tokenizer\W+ByteLevelBpe \(\d+ ids\)", info.Output);
        Assert.Matches(@"dtype\W+float32", info.Output);
        Assert.Contains("load strictly", info.Output, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", info.Output, StringComparison.Ordinal);
        Assert.Empty(info.Error);
    }

    [Theory]
    [InlineData("gpt2", "tiny", "--arch 'gpt2'")]
    [InlineData("distilbert", "Qwen2-0.5B", "--preset 'Qwen2-0.5B'")]
    public async Task A_bad_architecture_or_preset_exits_2_with_one_line_naming_it(string arch, string preset, string expected)
    {
        // Given an unknown architecture or a preset of another family
        var output = _dir.File("bad");

        // When init runs
        var run = await CliTestHost.RunAsync("model", "init", "--arch", arch, "--preset", preset, "--tokenizer", $"train:{_corpus}", "--out", output);

        // Then it exits 2 with one error line naming the option, and creates nothing
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task An_existing_output_folder_exits_2_and_keeps_its_files_until_force_is_given()
    {
        // Given an output folder that already holds a file
        var output = Directory.CreateDirectory(_dir.File("taken")).FullName;
        File.WriteAllText(Path.Combine(output, "mine.txt"), "keep");
        string[] args = ["model", "init", "--arch", "distilbert", "--tokenizer", $"train:{_corpus}", "--vocab-size", "100", "--out", output];

        // When init runs without and then with --force
        var refused = await CliTestHost.RunAsync(args);
        var keptAfterRefusal = File.Exists(Path.Combine(output, "mine.txt"));
        var forced = await CliTestHost.RunAsync([.. args, "--force"]);

        // Then the first exits 2 naming --force and leaves the file, the second replaces the folder
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("pass --force", Assert.Single(refused.ErrorLines), StringComparison.Ordinal);
        Assert.True(keptAfterRefusal);
        Assert.Equal(0, forced.ExitCode);
        Assert.False(File.Exists(Path.Combine(output, "mine.txt")));
        Assert.True(File.Exists(Path.Combine(output, "vocab.txt")));
    }

    [Fact]
    public async Task A_preset_larger_than_the_memory_limit_exits_2_before_writing()
    {
        // Given Llama-2-7b and a 1,000 MB limit
        var output = _dir.File("big");

        // When init runs
        var run = await CliTestHost.RunAsync("model", "init", "--arch", "llama", "--preset", "Llama-2-7b", "--tokenizer", $"train:{_corpus}", "--out", output, "--max-memory-mb", "1000");

        // Then it exits 2 with the parameter count (7B's 6,738,415,616 less 2 × 31,000 × 4,096 for a 1,000-token vocabulary) and the limit in one line, and writes nothing
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("--preset Llama-2-7b: 6,484,463,616 parameters in float32", line, StringComparison.Ordinal);
        Assert.Contains("1.00 GB is available", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task Info_on_a_folder_without_config_json_exits_2_with_one_line()
    {
        // Given a folder with only a text file
        var folder = Directory.CreateDirectory(_dir.File("empty")).FullName;
        File.WriteAllText(Path.Combine(folder, "readme.txt"), "not a model");

        // When info runs
        var run = await CliTestHost.RunAsync("model", "info", folder);

        // Then it exits 2 naming config.json
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("no config.json", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_gguf_writes_a_gguf_file_and_reuses_the_cached_export_of_an_unchanged_checkpoint()
    {
        // Given a tiny Llama created by init
        var model = _dir.File("m");
        Assert.Equal(0, (await CliTestHost.RunAsync("model", "init", "--arch", "llama", "--preset", "tiny", "--tokenizer", $"train:{_corpus}", "--vocab-size", "300", "--out", model)).ExitCode);

        // When it is exported to a named file, and twice into the cache
        var named = await CliTestHost.RunAsync("model", "export-gguf", model, "--out", _dir.File("m.gguf"), "--type", "f32");
        var first = await CliTestHost.RunAsync("model", "export-gguf", model, "--type", "f16");
        var second = await CliTestHost.RunAsync("model", "export-gguf", model, "--type", "f16");

        // Then the named file is a GGUF file, the first cached export is written and the second reused
        Assert.Equal(0, named.ExitCode);
        Assert.Contains("exported", named.Output, StringComparison.Ordinal);
        Assert.Equal("GGUF"u8.ToArray(), File.ReadAllBytes(_dir.File("m.gguf"))[..4]);
        Assert.Equal(0, first.ExitCode);
        Assert.Contains("exported", first.Output, StringComparison.Ordinal);
        Assert.Contains("cached", second.Output, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(Path.Combine(model, "gguf"), "*-f16.gguf"));
    }

    [Fact]
    public async Task Export_gguf_with_an_unknown_type_exits_2_with_the_choices()
    {
        // Given any folder, When export-gguf is asked for an unknown type
        var run = await CliTestHost.RunAsync("model", "export-gguf", _dir.Path, "--out", _dir.File("x.gguf"), "--type", "q3_k");

        // Then it exits 2 with one line naming the option and the accepted types, and writes nothing
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("--type 'q3_k'", line, StringComparison.Ordinal);
        Assert.Contains("f32|f16|q8_0|q4_0|q4_k_m", line, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("x.gguf")));
    }

    [Fact]
    public async Task Export_gguf_of_an_encoder_exits_2_naming_the_architecture()
    {
        // Given a tiny BERT created by init
        var model = _dir.File("bert");
        Assert.Equal(0, (await CliTestHost.RunAsync("model", "init", "--arch", "bert", "--preset", "tiny", "--tokenizer", $"train:{_corpus}", "--vocab-size", "100", "--out", model)).ExitCode);

        // When it is exported
        var run = await CliTestHost.RunAsync("model", "export-gguf", model, "--out", _dir.File("bert.gguf"));

        // Then it exits 2 with one line naming the architecture
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not support architecture 'bert'", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }
}
