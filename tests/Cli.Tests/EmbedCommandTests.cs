using System.Runtime.CompilerServices;
using Skim.Core.Formats.Npy;
using Skim.Models.DistilBert;
using Skim.Models.Weights;
using Spectre.Console.Testing;

namespace Skim.Cli.Tests;

public sealed class EmbedCommandTests
{
    private static readonly string s_vocabulary = BertVocabulary();

    [Fact]
    public async Task Embed_writes_the_rows_and_prints_a_one_line_summary()
    {
        // Given a tiny DistilBERT folder with its vocabulary, and three texts
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), ["the man was in the house", "", "john went to school"]);

        // When they are embedded as normalised float16 rows
        var run = await CliTestHost.RunAsync("embed", "--model", model, "--input", dir.File("texts.txt"), "--out", dir.File("emb.npy"),
            "--normalize", "--output-dtype", "float16", "--batch-size", "2", "--device", "cpu");

        // Then it exits 0, the file holds (3, 32) float16 unit rows, and the summary names it
        Assert.True(run.ExitCode == 0, run.Error);
        using var file = NpyMemoryMap.Open(dir.File("emb.npy"));
        Assert.Equal(NpyDType.Float16, file.Header.DType);
        Assert.Equal([3L, 32], file.Header.Shape);
        var row = file.ReadRows<Half>(2, 1);
        Assert.Equal(1.0, Math.Sqrt(row.Sum(v => (double)v * (double)v)), 1e-2);
        var summary = Assert.Single(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"embedded 3 texts into {dir.File("emb.npy")} (3, 32) float16", summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_interactive_terminal_gets_a_progress_bar_and_then_the_summary()
    {
        // Given a model, texts and an interactive terminal
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), ["the man", "the house", "john", "a b c"]);
        using var terminal = new TestConsole().Interactive().Width(200);

        // When they are embedded in batches of one
        var exitCode = await SkimCli.InvokeAsync(["embed", "-m", model, "-i", dir.File("texts.txt"), "-o", dir.File("emb.npy"), "-b", "1", "--device", "cpu"], terminal);

        // Then the bar showed the rows and the summary followed
        Assert.Equal(0, exitCode);
        Assert.Contains("embedding 4/4 texts", terminal.Output, StringComparison.Ordinal);
        Assert.Contains("embedded 4 texts into", terminal.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.File("emb.npy")));
    }

    [Fact]
    public async Task Token_files_from_skim_tokenize_embed_to_the_same_rows_as_the_texts()
    {
        // Given a model folder, texts, and their token files written by `skim tokenize`
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), ["the man was in the house", "she", "the world of music and film"]);
        var tokenize = await CliTestHost.RunAsync("tokenize", "--tokenizer", model, "--input", dir.File("texts.txt"), "--max-len", "12", "--out", dir.File("tok/q"));
        Assert.Equal(0, tokenize.ExitCode);

        // When both are embedded
        var fromText = await CliTestHost.RunAsync("embed", "-m", model, "-i", dir.File("texts.txt"), "--max-len", "12", "-o", dir.File("a.npy"), "--device", "cpu");
        var fromTokens = await CliTestHost.RunAsync("embed", "-m", model, "-i", dir.File("tok/q"), "-o", dir.File("b.npy"), "--device", "cpu");

        // Then both succeed with identical files
        Assert.Equal(0, fromText.ExitCode);
        Assert.Equal(0, fromTokens.ExitCode);
        Assert.Contains("embedded 3 token rows", fromTokens.Output, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(dir.File("a.npy")), File.ReadAllBytes(dir.File("b.npy")));
    }

    [Fact]
    public async Task A_missing_model_folder_is_one_error_line_and_exit_code_2()
    {
        // Given texts and no model folder
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("texts.txt"), ["hello"]);

        // When the CLI runs
        var run = await CliTestHost.RunAsync("embed", "--model", dir.File("no-model"), "--input", dir.File("texts.txt"), "--out", dir.File("emb.npy"));

        // Then it exits 2 with one line naming the folder, and writes nothing
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {dir.File("no-model")}: no such model folder", Assert.Single(run.ErrorLines));
        Assert.False(File.Exists(dir.File("emb.npy")));
    }

    [Fact]
    public async Task A_model_folder_without_config_json_is_one_error_line_naming_it()
    {
        // Given a model folder that lost its config.json
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.Delete(Path.Combine(model, "config.json"));
        File.WriteAllLines(dir.File("texts.txt"), ["hello"]);

        // When the CLI runs
        var run = await CliTestHost.RunAsync("embed", "--model", model, "--input", dir.File("texts.txt"), "--out", dir.File("emb.npy"), "--device", "cpu");

        // Then it exits 2 with one line about config.json
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("config.json", line, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("emb.npy")));
    }

    [Fact]
    public async Task A_missing_input_is_one_error_line_naming_it()
    {
        // Given a model folder and no input file
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));

        // When the CLI runs
        var run = await CliTestHost.RunAsync("embed", "--model", model, "--input", dir.File("missing.txt"), "--out", dir.File("emb.npy"));

        // Then it exits 2 with one line naming the input
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"error: --input '{dir.File("missing.txt")}': not found", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--pooling", "max", "--pooling 'max': expected mean or cls")]
    [InlineData("--batch-size", "0", "--batch-size 0: expected a positive integer")]
    [InlineData("--max-len", "-1", "--max-len -1: expected a positive integer")]
    [InlineData("--dtype", "int8", "--dtype 'int8': expected float32|bfloat16|float16")]
    [InlineData("--output-dtype", "bfloat16", "--output-dtype 'bfloat16': expected float32 or float16 (numpy has no bfloat16)")]
    [InlineData("--device", "tpu", "--device 'tpu': expected auto|cpu|cuda|cuda:N")]
    public async Task A_bad_option_value_is_one_error_line_and_exit_code_2(string option, string value, string expected)
    {
        // Given texts and a model folder
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), ["hello"]);

        // When the CLI runs with the bad value
        var run = await CliTestHost.RunAsync("embed", "--model", model, "--input", dir.File("texts.txt"), "--out", dir.File("emb.npy"), option, value);

        // Then it exits 2 with exactly that message
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {expected}", Assert.Single(run.ErrorLines));
        Assert.False(File.Exists(dir.File("emb.npy")));
    }

    // A random tiny DistilBERT (hidden 32) whose vocabulary is the first 2,300 lines of bert-base-uncased's.
    private static string WriteModel(string folder)
    {
        using var model = new DistilBertModel(DistilBertConfig.Tiny with { VocabSize = 2300 });
        WeightSaver.SavePretrained(model, model.Config, folder);
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), File.ReadLines(s_vocabulary).Take(2300));
        return folder;
    }

    private static string BertVocabulary([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "Models.Tests", "Fixtures", "tokenizers", "bert-base-uncased", "vocab.txt"));
}
