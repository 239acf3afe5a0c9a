using Skim.Core;
using Skim.Models.Devices;
using Skim.Models.Llama;

namespace Skim.Models.Tests.Llama;

[Collection(LibTorchCollection.Name)]
public sealed class LlamaConfigTests
{
    [Fact]
    public void A_qwen2_config_with_hf_keys_and_a_list_of_eos_ids_is_read()
    {
        // Given a Qwen2-style config.json with keys the decoder does not use
        using var folder = new TempDirectory();
        File.WriteAllText(folder.File("config.json"), """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 64, "intermediate_size": 100,
             "num_attention_heads": 8, "num_key_value_heads": 2, "num_hidden_layers": 3, "vocab_size": 300,
             "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": true, "use_sliding_window": false,
             "sliding_window": 4096, "max_window_layers": 21, "bos_token_id": 1, "eos_token_id": [2, 7], "torch_dtype": "bfloat16"}
            """);

        // When it is read
        var config = LlamaConfig.Read(folder.File("config.json"));

        // Then the values, derived head sizes and biases follow HF's rules
        Assert.Equal(8, config.HeadDim);
        Assert.Equal(2, config.KeyValueHeads);
        Assert.True(config.QkvBias);
        Assert.False(config.OutputBias);
        Assert.Equal([2, 7], config.EosTokenIds);
        Assert.Equal(1_000_000, config.RopeTheta);
        Assert.Null(config.EnforcedWindow);
    }

    [Theory]
    [InlineData("\"model_type\": \"gpt2\"", "model_type")]
    [InlineData("\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}", "rope_scaling")]
    [InlineData("\"model_type\": \"qwen2\", \"use_sliding_window\": true", "use_sliding_window")]
    [InlineData("\"num_key_value_heads\": 3", "num_key_value_heads")]
    [InlineData("\"hidden_act\": \"gelu\"", "hidden_act")]
    [InlineData("\"eos_token_id\": 500", "eos_token_id")]
    [InlineData("\"quantization_config\": {\"bits\": 4}", "quantization_config")]
    public void An_invalid_or_unsupported_value_is_refused_naming_the_file_and_key(string member, string key)
    {
        // Given a config.json with one bad member
        using var folder = new TempDirectory();
        var path = folder.File("config.json");
        File.WriteAllText(path, $$"""{"hidden_size": 32, "intermediate_size": 40, "num_attention_heads": 4, "num_hidden_layers": 1, "vocab_size": 128, {{member}}}""");

        // When it is read
        var error = Assert.Throws<SkimFormatException>(() => LlamaConfig.Read(path));

        // Then one line names the file and the key
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_model_folder_without_config_json_is_refused()
    {
        // Given an empty folder
        using var folder = new TempDirectory();

        // When a model is loaded from it
        var error = Assert.Throws<SkimFormatException>(() => LlamaForCausalLM.FromPretrained(folder.Path));

        // Then the error names config.json
        Assert.Contains("config.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_whose_embedding_rows_differ_from_vocab_size_is_refused_with_the_shapes()
    {
        // Given a checkpoint written with vocab 128 whose config.json then claims vocab 130
        using var folder = new TempDirectory();
        LlamaFixtures.Write(folder.Path);
        File.WriteAllText(folder.File("config.json"), (LlamaConfig.Tiny with { VocabSize = 130 }).ToJson());

        // When it is loaded
        var error = Assert.Throws<SkimFormatException>(() => LlamaForCausalLM.FromPretrained(folder.Path));

        // Then the mismatch names the embedding and both shapes
        Assert.Contains("model.embed_tokens.weight (expected [130, 32], found [128, 32])", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SmolLM-135M", 134_515_008L)]
    [InlineData("Qwen2-0.5B", 494_032_768L)]
    [InlineData("Llama-2-7B", 6_738_415_616L)]
    public void Full_size_presets_built_on_the_meta_device_have_the_published_parameter_counts(string preset, long published)
    {
        // Given a full-size preset (published counts: the model cards' safetensors parameter totals)
        var config = preset switch
        {
            "SmolLM-135M" => LlamaConfig.SmolLM135M,
            "Qwen2-0.5B" => LlamaConfig.Qwen2_0_5B,
            _ => LlamaConfig.Llama2_7B,
        };

        // When it is built without memory on the meta device
        using var model = new LlamaForCausalLM(config, device: TorchDevices.Meta);

        // Then its parameter count equals the published one
        Assert.Equal(published, model.parameters().Sum(p => p.numel()));
    }
}
