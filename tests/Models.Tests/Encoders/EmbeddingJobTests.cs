using System.Globalization;
using System.Text.Json;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Models.DistilBert;
using Skim.Models.Encoders;
using Skim.Models.Tests.Tokenization;
using Skim.Models.Tokenization;

namespace Skim.Models.Tests.Encoders;

[Collection(LibTorchCollection.Name)]
public sealed class EmbeddingJobTests
{
    /// <summary>Lines of the bert-base-uncased vocabulary kept: ids 0..2299 hold the specials and the most common words.</summary>
    public const int VocabularySize = 2300;

    private static readonly string[] s_texts =
    [
        "the man was in the house",
        "  John went to school in New York city  ",
        "",
        "he is one of the best players of the season and he won the league with his club in 2010 after a long war",
        "she",
        "music, film and art: the world of the university!",
        "zebra quokka",
    ];

    [Fact]
    public async Task Text_input_and_the_token_files_of_the_same_texts_give_identical_rows()
    {
        // Given a model folder with its tokenizer, a text file, and its token files written by TokenFileWriter
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), s_texts);
        var tokenizer = TokenizerLoader.Load(model);
        await TokenFileWriter.WriteAsync(tokenizer, new TokenFileOptions { InputPath = dir.File("texts.txt"), OutputPrefix = dir.File("tok/trn"), MaxLength = 16 });

        // When both are embedded in batches of 3 (the prefix once as DIR/PREFIX, once as the ids file)
        var fromText = await EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), dir.File("a.npy")) with { MaxLength = 16, BatchSize = 3 });
        var fromTokens = await EmbeddingJob.RunAsync(Options(model, dir.File("tok/trn"), dir.File("b.npy")) with { BatchSize = 3 });
        await EmbeddingJob.RunAsync(Options(model, dir.File("tok/trn_input_ids.npy"), dir.File("c.npy")) with { BatchSize = 3 });

        // Then the three files are byte for byte the same, and the text path computed only the clipped widths
        Assert.Equal(EmbeddingInputKind.Text, fromText.Input);
        Assert.Equal(EmbeddingInputKind.TokenFiles, fromTokens.Input);
        Assert.Equal(File.ReadAllBytes(dir.File("a.npy")), File.ReadAllBytes(dir.File("b.npy")));
        Assert.Equal(File.ReadAllBytes(dir.File("a.npy")), File.ReadAllBytes(dir.File("c.npy")));
        Assert.Equal(fromTokens.Tokens, fromText.Tokens);
        Assert.Equal(fromTokens.ComputedTokens, fromText.ComputedTokens);
        Assert.True(fromText.ComputedTokens < s_texts.Length * 16, $"{fromText.ComputedTokens} positions computed: batches were not clipped");
    }

    [Fact]
    public async Task Rows_equal_the_encoder_embedding_each_text_alone()
    {
        // Given a model, its tokenizer and the texts
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), s_texts);
        var tokenizer = TokenizerLoader.Load(model);
        using var encoder = TextEncoder.Load(model, new TextEncoderOptions { Device = "cpu" });

        // When the job embeds them in one batch
        var result = await EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), dir.File("emb.npy")));

        // Then row i is the embedding of text i tokenized alone with no padding
        using var file = NpyMemoryMap.Open(result.OutputPath);
        Assert.Equal([s_texts.Length, 32L], file.Header.Shape);
        for (var i = 0; i < s_texts.Length; i++)
        {
            var ids = tokenizer.Encode(s_texts[i].Trim(), maxLength: 32).Select(id => (long)id).ToArray();
            var alone = encoder.EmbedToArray(ids, [.. ids.Select(_ => 1L)], 1, ids.Length);
            var row = file.ReadRows<float>(i, 1);
            for (var j = 0; j < row.Length; j++)
            {
                Assert.Equal(alone[j], row[j], 1e-5);
            }
        }
    }

    [SkippableTheory]
    [InlineData("float32", 4)]
    [InlineData("float16", 2)]
    public async Task Numpy_reads_the_output_with_the_right_shape_and_dtype(string outputDType, int itemSize)
    {
        // Given a model and texts
        PythonReference.Require("numpy");
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), s_texts);

        // When they are embedded with the output dtype, and again in float32
        await EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), dir.File("emb.npy")) with { OutputDType = outputDType, BatchSize = 4 });
        await EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), dir.File("f32.npy")) with { BatchSize = 4 });

        // Then numpy loads a (7, 32) array of that dtype, equal to the float32 rows rounded to it
        var json = PythonReference.RunCode(
            "import json, sys, numpy as np\n" +
            "a = np.load(sys.argv[1]); f = np.load(sys.argv[2])\n" +
            "print(json.dumps({'shape': list(a.shape), 'dtype': str(a.dtype), 'itemsize': a.itemsize, 'same': bool((f.astype(a.dtype) == a).all()), 'finite': bool(np.isfinite(a).all())}))",
            dir.File("emb.npy"), dir.File("f32.npy"));
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal([s_texts.Length, 32], root.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(outputDType, root.GetProperty("dtype").GetString());
        Assert.Equal(itemSize, root.GetProperty("itemsize").GetInt32());
        Assert.True(root.GetProperty("same").GetBoolean());
        Assert.True(root.GetProperty("finite").GetBoolean());
    }

    [Fact]
    public async Task The_batch_size_does_not_change_the_rows()
    {
        // Given a model and texts of very different lengths
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), s_texts);

        // When they are embedded one at a time, three at a time, and all at once
        var rows = new List<float[]>();
        foreach (var batchSize in new[] { 1, 3, 256 })
        {
            var path = dir.File(string.Create(CultureInfo.InvariantCulture, $"b{batchSize}.npy"));
            await EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), path) with { BatchSize = batchSize });
            using var file = NpyMemoryMap.Open(path);
            rows.Add(file.ReadRows<float>(0, s_texts.Length));
        }

        // Then the rows agree within 1e-5
        Assert.Equal(s_texts.Length * 32, rows[0].Length);
        foreach (var other in rows.Skip(1))
        {
            for (var i = 0; i < other.Length; i++)
            {
                Assert.Equal(rows[0][i], other[i], 1e-5);
            }
        }
    }

    [Fact]
    public async Task Normalised_rows_have_unit_norm()
    {
        // Given a model and texts
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), s_texts);

        // When they are embedded with --normalize
        await EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), dir.File("emb.npy")) with { Normalize = true, BatchSize = 2 });

        // Then every row has L2 norm 1
        using var file = NpyMemoryMap.Open(dir.File("emb.npy"));
        for (var r = 0; r < s_texts.Length; r++)
        {
            var row = file.ReadRows<float>(r, 1);
            Assert.Equal(1.0, Math.Sqrt(row.Sum(v => (double)v * v)), 1e-5);
        }
    }

    [Fact]
    public async Task Progress_is_reported_after_every_batch()
    {
        // Given seven texts and batches of three
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), s_texts);
        var reports = new List<EmbeddingProgress>();
        var progress = new SynchronousProgress(reports);

        // When they are embedded
        await EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), dir.File("emb.npy")) with { BatchSize = 3 }, progress);

        // Then progress went 0, 3, 6, 7 out of 7
        Assert.Equal([0L, 3, 6, 7], reports.Select(r => r.RowsDone));
        Assert.All(reports, r => Assert.Equal(7, r.TotalRows));
    }

    [Fact]
    public async Task An_empty_text_file_gives_an_empty_matrix_of_the_model_width()
    {
        // Given an empty text file
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllText(dir.File("texts.txt"), "");

        // When it is embedded
        var result = await EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), dir.File("emb.npy")));

        // Then the file holds a (0, 32) array
        using var file = NpyMemoryMap.Open(result.OutputPath);
        Assert.Equal([0L, 32], file.Header.Shape);
    }

    [Fact]
    public async Task A_missing_input_is_refused_before_the_model_loads_and_nothing_is_written()
    {
        // Given a model folder and no input
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));

        // When the job runs
        var error = await Assert.ThrowsAsync<SkimConfigException>(() => EmbeddingJob.RunAsync(Options(model, dir.File("queries"), dir.File("emb.npy"))));

        // Then the one-line message names the input and both accepted forms, and no file exists
        Assert.Contains(dir.File("queries"), error.Message, StringComparison.Ordinal);
        Assert.Contains("queries_attention_mask.npy", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(File.Exists(dir.File("emb.npy")));
    }

    [Fact]
    public async Task Token_files_whose_shapes_differ_are_refused_naming_the_mask_file()
    {
        // Given an ids file of (3, 8) and a mask file of (3, 6)
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        NpyFile.Write(dir.File("q_input_ids.npy"), NpyArray.Create<long>(new long[24], [3, 8]));
        NpyFile.Write(dir.File("q_attention_mask.npy"), NpyArray.Create<long>(new long[18], [3, 6]));

        // When they are embedded
        var error = await Assert.ThrowsAsync<SkimFormatException>(() => EmbeddingJob.RunAsync(Options(model, dir.File("q"), dir.File("emb.npy"))));

        // Then the error names the mask file and both shapes
        Assert.Equal(dir.File("q_attention_mask.npy"), error.Path);
        Assert.Contains("(3, 8)", error.Message, StringComparison.Ordinal);
        Assert.Contains("(3, 6)", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("emb.npy")));
    }

    [Fact]
    public async Task A_tokenizer_larger_than_the_model_vocabulary_is_refused()
    {
        // Given a model with 2,300 word embeddings and the full 30,522-id vocabulary as --tokenizer
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), s_texts);

        // When texts are embedded with it
        var error = await Assert.ThrowsAsync<SkimFormatException>(() => EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), dir.File("emb.npy")) with { TokenizerDirectory = TokenizerFixtures.BertBaseUncased }));

        // Then the error gives both sizes
        Assert.Contains("30522", error.Message, StringComparison.Ordinal);
        Assert.Contains("2300", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("emb.npy")));
    }

    [Fact]
    public async Task A_job_cancelled_after_its_first_batch_leaves_no_output_file()
    {
        // Given seven texts in batches of two, and a token cancelled once the first batch is written
        using var dir = new TempDirectory();
        var model = WriteModel(dir.File("model"));
        File.WriteAllLines(dir.File("texts.txt"), s_texts);
        using var cancel = new CancellationTokenSource();
        var progress = new CancellingProgress(cancel);

        // When the job runs with it
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => EmbeddingJob.RunAsync(Options(model, dir.File("texts.txt"), dir.File("emb.npy")) with { BatchSize = 2 }, progress, cancel.Token));

        // Then it stopped after the first batch and left no file (and no temporary file) behind
        Assert.Equal(2, progress.LastRowsDone);
        Assert.Equal([dir.File("texts.txt")], Directory.GetFiles(dir.Path));
    }

    [Theory]
    [InlineData(0, 256, "--max-len 0")]
    [InlineData(32, 0, "--batch-size 0")]
    public async Task Bad_sizes_are_refused_by_option_name(int maxLength, int batchSize, string expected)
    {
        // Given options with a non-positive size
        var options = Options("model", "texts.txt", "emb.npy") with { MaxLength = maxLength, BatchSize = batchSize };

        // When the job runs
        var error = await Assert.ThrowsAsync<SkimConfigException>(() => EmbeddingJob.RunAsync(options));

        // Then the message starts with the option and its value
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    /// <summary>Writes a random tiny DistilBERT (hidden 32) whose folder also holds the first 2,300 lines of bert-base-uncased's vocab.txt.</summary>
    internal static string WriteModel(string folder, long seed = 7)
    {
        EncoderFixtures.WriteDistilBert(folder, seed, DistilBertConfig.Tiny with { VocabSize = VocabularySize });
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), File.ReadLines(Path.Combine(TokenizerFixtures.BertBaseUncased, "vocab.txt")).Take(VocabularySize));
        return folder;
    }

    private static EmbeddingOptions Options(string model, string input, string output) =>
        new() { ModelDirectory = model, InputPath = input, OutputPath = output, Device = "cpu" };

    private sealed class CancellingProgress(CancellationTokenSource cancel) : IProgress<EmbeddingProgress>
    {
        public long LastRowsDone { get; private set; }

        public void Report(EmbeddingProgress value)
        {
            LastRowsDone = value.RowsDone;
            if (value.RowsDone > 0)
            {
                cancel.Cancel();
            }
        }
    }

    // Progress<T> posts to the thread pool; the test wants the reports in order before it asserts.
    private sealed class SynchronousProgress(List<EmbeddingProgress> reports) : IProgress<EmbeddingProgress>
    {
        public void Report(EmbeddingProgress value) => reports.Add(value);
    }
}
