using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Models.Encoders;
using Skim.Models.Llama;
using Skim.Models.ModelFactory;
using Skim.Models.Tests.Tokenization;
using Skim.Models.Tests.Vocabulary;
using Skim.Models.Tokenization;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Models.Tests.ModelFactory;

/// <summary>
/// <c>model init</c> → <c>model info</c> → load round trips through the loaders a real checkpoint
/// uses, HF's initialisation, determinism, and every refusal.
/// </summary>
[Collection(LibTorchCollection.Name)]
public sealed class ModelInitializerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _corpus;

    public ModelInitializerTests()
    {
        _corpus = _dir.File("corpus.txt");
        File.WriteAllLines(_corpus, VocabularyCorpus.Lines());
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("llama", "LlamaForCausalLM")]
    [InlineData("qwen2", "Qwen2ForCausalLM")]
    [InlineData("mistral", "MistralForCausalLM")]
    public void A_tiny_decoder_with_a_trained_tokenizer_loads_back_and_its_config_carries_the_tokenizer_ids(string arch, string architecture)
    {
        // Given a tiny decoder created with a byte-level BPE vocabulary trained on the corpus
        var result = ModelInitializer.Create(Options(arch, $"train:{_corpus}", vocabSize: 400));

        // When the folder is loaded through the decoder's loader and its tokenizer through the tokenizer loader
        using var model = LlamaForCausalLM.FromPretrained(result.Info.Folder);
        var tokenizer = TokenizerLoader.Load(result.Info.Folder);
        var ids = tokenizer.Encode("the cat sat on the mat");
        using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        using var logits = model.forward(input);

        // Then vocab_size and special ids come from the tokenizer and the model computes over that vocabulary
        Assert.Equal(architecture, result.Info.Architecture);
        Assert.Equal(TokenizerKind.ByteLevelBpe, result.Info.TokenizerKind);
        Assert.Equal(400, model.Config.VocabSize);
        Assert.Equal(tokenizer.VocabularySize, model.Config.VocabSize);
        Assert.Equal(tokenizer.Special.Eos, Assert.Single(model.Config.EosTokenIds));
        Assert.Equal(tokenizer.Special.Bos, model.Config.BosTokenId);
        Assert.Equal(tokenizer.Special.Pad, model.Config.PadTokenId);
        if (arch == "qwen2")
        {
            Assert.Null(tokenizer.Special.Bos);
        }
        else
        {
            Assert.Equal(tokenizer.Special.Bos, ids[0]);
        }
        Assert.Equal(new long[] { 1, ids.Length, 400 }, logits.shape);
        Assert.Equal("cpu", result.Info.LoadedOn);
    }

    [Fact]
    public void A_tiny_bert_with_a_trained_wordpiece_vocabulary_embeds_through_the_text_encoder()
    {
        // Given a tiny BERT created with a WordPiece vocabulary trained on the corpus
        var result = ModelInitializer.Create(Options("bert", $"train:{_corpus}", vocabSize: 150));

        // When it is loaded as any encoder checkpoint is, and a text is embedded
        using var encoder = TextEncoder.Load(result.Info.Folder, new TextEncoderOptions { Device = "cpu" });
        var tokenizer = TokenizerLoader.Load(result.Info.Folder);
        encoder.CheckTokenizer(tokenizer.VocabularySize, result.Info.Folder);
        var batch = tokenizer.EncodeBatch(["the cat sat", "labels"], new BatchEncodeOptions { MaxLength = 8 });
        var embeddings = encoder.EmbedToArray(batch.InputIds, batch.AttentionMask, 2, 8);

        // Then the config has the vocabulary's size and [PAD] id, and the embeddings are finite and 32 wide
        Assert.Equal("bert", result.Info.ModelType);
        Assert.Equal(150, result.Info.VocabSize);
        Assert.Equal(TokenizerKind.WordPiece, result.Info.TokenizerKind);
        Assert.Equal(2 * 32, embeddings.Length);
        Assert.All(embeddings, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(embeddings, v => v != 0);
    }

    [Theory]
    [InlineData("distilbert", "distilbert-base-uncased", "n_layers", "dim", 768)]
    [InlineData("bert", "small", "num_hidden_layers", "hidden_size", 256)]
    [InlineData("llama", "small", "num_hidden_layers", "hidden_size", 0)]
    public void Layers_replace_the_presets_depth_and_keep_its_width(string arch, string preset, string layersKey, string widthKey, int width)
    {
        // Given a preset created with one layer instead of its own count
        var result = ModelInitializer.Create(Options(arch, $"train:{_corpus}", preset: preset, vocabSize: 400) with { Layers = 1 });

        // When its config is read
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(result.Info.Folder, "config.json")));

        // Then it has one layer, the preset's width, and the weights of exactly one layer
        Assert.Equal(1, config.RootElement.GetProperty(layersKey).GetInt32());
        if (width > 0)
        {
            Assert.Equal(width, config.RootElement.GetProperty(widthKey).GetInt32());
        }
        using var weights = SafeTensorsFile.Open(Path.Combine(result.Info.Folder, "model.safetensors"));
        var layerIndices = weights.Names.Select(n => System.Text.RegularExpressions.Regex.Match(n, @"\.(?:layer|layers)\.(\d+)\.")).Where(m => m.Success).Select(m => m.Groups[1].Value).Distinct().ToArray();
        Assert.Equal(["0"], layerIndices);
    }

    [Fact]
    public void A_non_positive_layer_count_is_refused_naming_the_option()
    {
        var error = Assert.Throws<SkimConfigException>(() => ModelInitializer.Create(Options("bert", $"train:{_corpus}") with { Layers = 0 }));
        Assert.Equal("--layers 0: expected a positive number of layers", error.Message);
    }

    [Fact]
    public void A_tiny_distilbert_takes_a_copied_tokenizer_folder_and_its_full_vocabulary_size()
    {
        // Given the bert-base-uncased tokenizer folder (30,522 ids)
        var result = ModelInitializer.Create(Options("distilbert", TokenizerFixtures.BertBaseUncased));

        // When the created folder is loaded
        using var encoder = TextEncoder.Load(result.Info.Folder, new TextEncoderOptions { Device = "cpu" });

        // Then vocab_size is the tokenizer's, its vocab.txt was copied, and the [PAD] row (id 0) is zero
        Assert.Equal(30522, encoder.Model.VocabSize);
        Assert.Equal(File.ReadAllBytes(Path.Combine(TokenizerFixtures.BertBaseUncased, "vocab.txt")), File.ReadAllBytes(Path.Combine(result.Info.Folder, "vocab.txt")));
        using var weights = SafeTensorsFile.Open(Path.Combine(result.Info.Folder, "model.safetensors"));
        using var embeddings = TensorConversion.ToTorch(weights["embeddings.word_embeddings.weight"]);
        Assert.Equal(0, embeddings[0].abs().sum().item<float>());
        Assert.NotEqual(0, embeddings[1].abs().sum().item<float>());
    }

    [Fact]
    public void Weights_follow_hf_initialisation_normal_002_zero_biases_unit_norms()
    {
        // Given a small Qwen2 (q/k/v biases, a few million parameters)
        var result = ModelInitializer.Create(Options("qwen2", $"train:{_corpus}", preset: "small", vocabSize: 400));

        // When its stored tensors are read
        using var weights = SafeTensorsFile.Open(Path.Combine(result.Info.Folder, "model.safetensors"));
        using var up = TensorConversion.ToTorch(weights["model.layers.1.mlp.up_proj.weight"]);
        using var embed = TensorConversion.ToTorch(weights["model.embed_tokens.weight"]);
        using var bias = TensorConversion.ToTorch(weights["model.layers.0.self_attn.q_proj.bias"]);
        using var norm = TensorConversion.ToTorch(weights["model.layers.0.input_layernorm.weight"]);

        // Then matrices are N(0, 0.02) (688×256 draws: std within 2 %, mean near 0), biases zero, norms one, no lm_head (tied)
        Assert.InRange(up.std().item<float>(), 0.0196, 0.0204);
        Assert.InRange(up.mean().item<float>(), -0.0005, 0.0005);
        Assert.InRange(embed[5].std().item<float>(), 0.012, 0.028);
        Assert.Equal(0, bias.abs().sum().item<float>());
        Assert.Equal(1, norm.min().item<float>());
        Assert.Equal(1, norm.max().item<float>());
        Assert.DoesNotContain("lm_head.weight", weights.Keys);
        Assert.InRange(result.Info.ParameterCount, 2_000_000, 5_000_000);
    }

    [Fact]
    public void The_same_seed_gives_identical_files_and_another_seed_different_weights()
    {
        // Given three creations, two with seed 5 and one with seed 6
        var a = ModelInitializer.Create(Options("llama", $"train:{_corpus}", vocabSize: 300, output: "a") with { Seed = 5 });
        var b = ModelInitializer.Create(Options("llama", $"train:{_corpus}", vocabSize: 300, output: "b") with { Seed = 5 });
        var c = ModelInitializer.Create(Options("llama", $"train:{_corpus}", vocabSize: 300, output: "c") with { Seed = 6 });

        // When their files are compared
        byte[] Bytes(ModelInitResult r, string name) => File.ReadAllBytes(Path.Combine(r.Info.Folder, name));

        // Then the seed decides the weights, and the tokenizer files never change
        Assert.Equal(Bytes(a, "model.safetensors"), Bytes(b, "model.safetensors"));
        Assert.NotEqual(Bytes(a, "model.safetensors"), Bytes(c, "model.safetensors"));
        Assert.Equal(Bytes(a, "tokenizer.json"), Bytes(c, "tokenizer.json"));
    }

    [Fact]
    public void Bfloat16_weights_are_stored_as_bfloat16_and_reported_so()
    {
        // Given a tiny Llama created in bfloat16
        var result = ModelInitializer.Create(Options("llama", $"train:{_corpus}", vocabSize: 300) with { DType = "bf16" });

        // When its info is read
        var info = ModelInspector.Inspect(result.Info.Folder);

        // Then every tensor is bfloat16 and config.json says so
        Assert.Equal("bfloat16", Assert.Single(info.StoredDTypes).Key);
        Assert.Equal("bfloat16", LlamaConfig.Read(Path.Combine(result.Info.Folder, "config.json")).TorchDtype);
    }

    [Fact]
    public void A_non_empty_output_folder_is_refused_and_left_alone_unless_forced()
    {
        // Given an output folder holding a file
        var output = Directory.CreateDirectory(_dir.File("taken")).FullName;
        File.WriteAllText(Path.Combine(output, "notes.txt"), "keep me");

        // When a model is created there without and then with force
        var error = Assert.Throws<SkimConfigException>(() => ModelInitializer.Create(Options("llama", $"train:{_corpus}", vocabSize: 300, output: "taken")));
        var kept = File.Exists(Path.Combine(output, "notes.txt"));
        ModelInitializer.Create(Options("llama", $"train:{_corpus}", vocabSize: 300, output: "taken") with { Force = true });

        // Then the first is refused naming --force and leaves the file; the second replaces the folder; no temporary folder is left
        Assert.Contains("--force", error.Message, StringComparison.Ordinal);
        Assert.True(kept);
        Assert.False(File.Exists(Path.Combine(output, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
        Assert.Empty(Directory.EnumerateDirectories(_dir.Path, ".*"));
    }

    [Fact]
    public void A_model_too_large_for_the_memory_limit_is_refused_before_anything_is_written()
    {
        // Given SmolLM-135M in float32 (about 1.08 GB to create and save) and a 500 MB limit
        var options = Options("llama", TokenizerFixtures.Gpt2, preset: "SmolLM-135M") with { MemoryLimitBytes = 500_000_000 };

        // When it is created
        var error = Assert.Throws<SkimConfigException>(() => ModelInitializer.Create(options));

        // Then the message gives the parameter count and both sizes, and no folder appears
        Assert.Contains("134,515,008 parameters", error.Message, StringComparison.Ordinal);
        Assert.Contains("500.0 MB is available", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
        Assert.Empty(Directory.EnumerateDirectories(_dir.Path, ".*"));
    }

    [Theory]
    [InlineData("gpt", "tiny", "--arch 'gpt': expected llama|qwen2|mistral|bert|distilbert")]
    [InlineData("bert", "SmolLM-135M", "--preset 'SmolLM-135M': not a bert preset (expected tiny, small, bert-base-uncased)")]
    [InlineData("llama", "huge", "--preset 'huge': not a llama preset")]
    public void Unknown_architectures_and_presets_are_refused_by_name(string arch, string preset, string expected)
    {
        // Given options naming an unknown architecture or preset
        var options = Options(arch, $"train:{_corpus}", preset: preset);

        // When a model is created
        var error = Assert.Throws<SkimConfigException>(() => ModelInitializer.Create(options));

        // Then the option, the value and the accepted values are named
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_vocabulary_size_with_a_tokenizer_folder_is_refused()
    {
        // Given a tokenizer folder and a vocabulary size
        var options = Options("bert", TokenizerFixtures.BertBaseUncased, vocabSize: 500);

        // When a model is created
        var error = Assert.Throws<SkimConfigException>(() => ModelInitializer.Create(options));

        // Then the message explains that only trained tokenizers take a size
        Assert.Contains("--vocab-size 500: applies only when the tokenizer is trained", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_corpus_is_a_one_line_error_naming_it_and_leaves_nothing_behind()
    {
        // Given a corpus path that does not exist
        var options = Options("llama", $"train:{_dir.File("nope.txt")}");

        // When a model is created
        var error = Assert.Throws<SkimFormatException>(() => ModelInitializer.Create(options));

        // Then the corpus is named and neither the output nor a temporary folder exists
        Assert.Contains("nope.txt: no such corpus file", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));
        Assert.Empty(Directory.EnumerateDirectories(_dir.Path, ".*"));
    }

    private ModelInitOptions Options(string arch, string tokenizer, string preset = "tiny", int? vocabSize = null, string output = "model") => new()
    {
        Architecture = arch,
        Preset = preset,
        Tokenizer = tokenizer,
        VocabSize = vocabSize,
        OutputDirectory = _dir.File(output),
    };
}
