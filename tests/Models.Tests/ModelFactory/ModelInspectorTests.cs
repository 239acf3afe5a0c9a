using Skim.Core;
using Skim.Models.ModelFactory;
using Skim.Models.Tests.Tokenization;
using Skim.Models.Tests.Vocabulary;

namespace Skim.Models.Tests.ModelFactory;

[Collection(LibTorchCollection.Name)]
public sealed class ModelInspectorTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Info_counts_tied_parameters_once_and_lists_the_files()
    {
        // Given a small Qwen2 (tied embeddings) with a trained tokenizer
        var folder = Create("qwen2", "small");

        // When it is inspected
        var info = ModelInspector.Inspect(folder);

        // Then the count is the stored values (embeddings once), computed here from the shapes
        const long Hidden = 256, Inter = 688, Kv = 128, Vocab = 400, Layers = 4;
        const long PerLayer = Hidden * Hidden + Hidden + 2 * (Kv * Hidden + Kv) + Hidden * Hidden + 3 * Hidden * Inter + 2 * Hidden;
        Assert.Equal(Vocab * Hidden + Layers * PerLayer + Hidden, info.ParameterCount);
        Assert.Equal("Qwen2ForCausalLM", info.Architecture);
        Assert.Equal(["config.json", "merges.txt", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json"], info.Files.Select(f => f.Name));
        Assert.Equal(new FileInfo(Path.Combine(folder, "model.safetensors")).Length, info.Files.Single(f => f.Name == "model.safetensors").Bytes);
    }

    [Fact]
    public void A_decoder_too_large_to_hold_is_read_and_checked_on_the_meta_device()
    {
        // Given a tiny Llama, and a CPU load limit of 0 bytes
        var folder = Create("llama", "tiny");

        // When it is inspected
        var info = ModelInspector.Inspect(folder, cpuLoadLimitBytes: 0);

        // Then the strict load ran on the meta device
        Assert.Equal("meta", info.LoadedOn);
        Assert.Equal(400, info.VocabSize);
    }

    [Fact]
    public void A_truncated_weight_file_is_a_one_line_error_even_on_the_meta_device()
    {
        // Given a created folder whose model.safetensors lost its last bytes
        var folder = Create("llama", "tiny");
        var weights = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..^100]);

        // When it is inspected
        var error = Assert.Throws<SkimFormatException>(() => ModelInspector.Inspect(folder, cpuLoadLimitBytes: 0));

        // Then the file is named in one line
        Assert.Contains("model.safetensors", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_config_are_reported_with_the_key_and_both_shapes()
    {
        // Given a created Llama whose config.json claims more layers than the weights hold
        var folder = Create("llama", "tiny");
        var config = Path.Combine(folder, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3", StringComparison.Ordinal));

        // When it is inspected
        var error = Assert.Throws<SkimFormatException>(() => ModelInspector.Inspect(folder));

        // Then the missing keys of layer 2 are listed
        Assert.Contains("missing keys", error.Message, StringComparison.Ordinal);
        Assert.Contains("model.layers.2.mlp.down_proj.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tokenizer_with_more_ids_than_the_embeddings_is_refused()
    {
        // Given a tiny BERT whose vocab.txt is replaced by bert-base-uncased's 30,522 tokens
        var folder = Create("bert", "tiny");
        File.Copy(Path.Combine(TokenizerFixtures.BertBaseUncased, "vocab.txt"), Path.Combine(folder, "vocab.txt"), overwrite: true);

        // When it is inspected
        var error = Assert.Throws<SkimFormatException>(() => ModelInspector.Inspect(folder));

        // Then both sizes are named
        Assert.Contains("the tokenizer has 30522 ids but config.json's vocab_size is 150", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_config_json_is_refused_by_name()
    {
        // Given an empty folder
        var folder = Directory.CreateDirectory(_dir.File("empty")).FullName;

        // When it is inspected
        var error = Assert.Throws<SkimFormatException>(() => ModelInspector.Inspect(folder));

        // Then config.json is named
        Assert.Contains("no config.json", error.Message, StringComparison.Ordinal);
    }

    private string Create(string arch, string preset)
    {
        var corpus = _dir.File("corpus.txt");
        if (!File.Exists(corpus))
        {
            File.WriteAllLines(corpus, VocabularyCorpus.Lines());
        }
        var output = _dir.File($"{arch}-{preset}");
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = arch,
            Preset = preset,
            Tokenizer = $"train:{corpus}",
            VocabSize = arch is "bert" or "distilbert" ? 150 : 400,
            OutputDirectory = output,
        });
        return output;
    }
}
