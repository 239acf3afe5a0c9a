using System.Runtime.CompilerServices;
using System.Text.Json;
using Skim.Models.Tokenization;

namespace Skim.Cli.Tests;

public class TokenizeCommandTests
{
    private static readonly string s_bertDirectory = BertDirectory();

    [SkippableFact]
    public async Task Tokenize_writes_int64_ngame_token_files_that_numpy_reads()
    {
        // Given two texts, one that fits and one that must be cut
        PythonReference.Require("numpy");
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("texts.txt"), ["  Hello, my dog is cute  ", "one two three four five six seven eight nine ten", ""]);

        // When they are tokenized to max length 10
        var run = await CliTestHost.RunAsync("tokenize", "--tokenizer", s_bertDirectory, "--input", dir.File("texts.txt"), "--max-len", "10", "--out", dir.File("out/trn_doc"));

        // Then numpy sees (3, 10) int64 arrays: [CLS] … [SEP] then pad 0, the mask 1 on tokens
        Assert.Equal(0, run.ExitCode);
        var json = PythonReference.RunCode(
            "import json, sys, numpy as np\n" +
            "ids = np.load(sys.argv[1], mmap_mode='r'); mask = np.load(sys.argv[2], mmap_mode='r')\n" +
            "print(json.dumps({'dtype': [str(ids.dtype), str(mask.dtype)], 'shape': [list(ids.shape), list(mask.shape)], 'ids': ids.tolist(), 'mask': mask.tolist()}))",
            dir.File("out/trn_doc_input_ids.npy"), dir.File("out/trn_doc_attention_mask.npy"));
        using var result = JsonDocument.Parse(json);
        var root = result.RootElement;
        Assert.Equal(["int64", "int64"], root.GetProperty("dtype").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([3, 10, 3, 10], root.GetProperty("shape").EnumerateArray().SelectMany(s => s.EnumerateArray()).Select(e => e.GetInt32()));
        long[][] ids = [.. root.GetProperty("ids").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt64()).ToArray())];
        long[][] mask = [.. root.GetProperty("mask").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt64()).ToArray())];
        Assert.Equal([101, 7592, 1010, 2026, 3899, 2003, 10140, 102, 0, 0], ids[0]);
        Assert.Equal([101, 2028, 2048, 2093, 2176, 2274, 2416, 2698, 2809, 102], ids[1]);
        Assert.Equal([101, 102, 0, 0, 0, 0, 0, 0, 0, 0], ids[2]);
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], mask[0]);
        Assert.Equal([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], mask[2]);
        Assert.Matches(@"truncated\W+1\W", run.Output);
    }

    [SkippableFact]
    public async Task Many_small_batches_on_two_workers_come_out_in_input_order()
    {
        // Given 3,001 distinct lines and the tokenizer the CLI will load
        PythonReference.Require("numpy");
        using var dir = new TempDirectory();
        var words = File.ReadLines(Path.Combine(s_bertDirectory, "vocab.txt")).Skip(2000).Take(3001).ToArray();
        var lines = words.Select((w, i) => $"{w} number {i}").ToArray();
        File.WriteAllLines(dir.File("texts.txt"), lines);
        var tokenizer = TokenizerLoader.Load(s_bertDirectory);
        var expected = lines.Select((line, row) => tokenizer.Encode(line, maxLength: 16).Select((id, col) => (long)id * (row + 1) * (col + 1)).Sum()).Sum();

        // When they are tokenized in batches of 7 on two workers
        var run = await CliTestHost.RunAsync("tokenize", "-t", s_bertDirectory, "-i", dir.File("texts.txt"), "--max-len", "16", "-o", dir.File("tok"), "--batch-size", "7", "--threads", "2");

        // Then numpy's position-weighted checksum equals the one of encoding each line alone
        Assert.Equal(0, run.ExitCode);
        var checksum = PythonReference.RunCode(
            "import sys, numpy as np\n" +
            "ids = np.load(sys.argv[1]); r = np.arange(1, ids.shape[0] + 1)[:, None]; c = np.arange(1, ids.shape[1] + 1)[None, :]\n" +
            "print(ids.shape[0], ids.shape[1], int((ids * r * c).sum()))",
            dir.File("tok_input_ids.npy")).Trim();
        Assert.Equal($"3001 16 {expected}", checksum);
    }

    [Fact]
    public async Task A_missing_tokenizer_folder_is_one_error_line_and_exit_code_2()
    {
        // Given a text file and a tokenizer folder that does not exist
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("texts.txt"), ["hello"]);

        // When the CLI runs
        var run = await CliTestHost.RunAsync("tokenize", "--tokenizer", dir.File("no-such-model"), "--input", dir.File("texts.txt"), "--out", dir.File("tok"));

        // Then it exits 2 with one line naming the folder, and writes nothing
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Equal($"error: {dir.File("no-such-model")}: tokenizer directory not found", line);
        Assert.False(File.Exists(dir.File("tok_input_ids.npy")));
    }

    [Fact]
    public async Task A_folder_without_tokenizer_files_lists_the_expected_files()
    {
        // Given an empty folder as the tokenizer
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("empty"));
        File.WriteAllLines(dir.File("texts.txt"), ["hello"]);

        // When the CLI runs
        var run = await CliTestHost.RunAsync("tokenize", "--tokenizer", dir.File("empty"), "--input", dir.File("texts.txt"), "--out", dir.File("tok"));

        // Then the one error line lists what a tokenizer folder holds
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("no tokenizer files (expected vocab.txt, tokenizer.json, tokenizer.model, or vocab.json + merges.txt)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_input_file_is_a_one_line_error_that_leaves_no_output()
    {
        // Given a real tokenizer and no input file
        using var dir = new TempDirectory();

        // When the CLI runs
        var run = await CliTestHost.RunAsync("tokenize", "--tokenizer", s_bertDirectory, "--input", dir.File("missing.txt"), "--out", dir.File("tok"));

        // Then it exits 2 naming the input and no .npy file exists
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("missing.txt", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.npy"));
    }

    private static string BertDirectory([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "Models.Tests", "Fixtures", "tokenizers", "bert-base-uncased"));
}
