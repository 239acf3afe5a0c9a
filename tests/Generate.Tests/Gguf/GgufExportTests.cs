using System.Text.Json.Nodes;
using LLama;
using LLama.Common;
using Skim.Core;
using Skim.Generate.Backends;
using Skim.Generate.Gguf;
using Skim.Generate.Tests.Runs;
using Skim.Models.ModelFactory;

namespace Skim.Generate.Tests.Gguf;

[Collection(GenerateLibTorchCollection.Name)]
public sealed class GgufExportTests(TinyModelsFixture models) : IClassFixture<TinyModelsFixture>
{
    [Fact]
    public void A_tiny_llama_becomes_a_gguf_v3_file_that_llama_cpp_loads_with_the_checkpoints_shape()
    {
        // Given a tiny Llama with a trained byte-level vocabulary
        var model = models.Get("llama");

        // When it is exported as f32 and loaded by llama.cpp
        var result = GgufExport.Export(model, models.File("llama-f32.gguf"), GgufType.F32);
        using (var stream = File.OpenRead(result.Path))
        {
            // Then the header says version 3, with the checkpoint's 2 × 9 + 3 tensors (lm_head not tied)
            var (version, tensors, _) = GgufFileWriter.ReadHeader(stream);
            Assert.Equal(3u, version);
            Assert.Equal(21ul, tensors);
        }
        LlamaSharpLogging.EnsureInstalled();
        using var weights = LLamaWeights.LoadFromFile(new ModelParams(result.Path));
        var metadata = weights.Metadata;
        Assert.Equal("llama", metadata["general.architecture"]);
        Assert.Equal("gpt2", metadata["tokenizer.ggml.model"]);
        Assert.Equal("gpt-2", metadata["tokenizer.ggml.pre"]);
        Assert.Equal("2", metadata["llama.block_count"]);
        Assert.Equal("32", metadata["llama.embedding_length"]);
        Assert.Equal("37", metadata["llama.feed_forward_length"]);
        Assert.Equal("2", metadata["llama.attention.head_count_kv"]);
        Assert.Equal(320, weights.Vocab.Count);
        Assert.True(weights.Vocab.ShouldAddBOS);
        Assert.Equal(32, weights.EmbeddingSize);
    }

    [Fact]
    public void The_rotary_reordering_interleaves_the_two_halves_of_each_head()
    {
        // Given 2 heads of dimension 4 with one column: HF rows h0:[a0 a1 | b0 b1], h1:[c0 c1 | d0 d1]
        float[] hf = [10, 11, 20, 21, 30, 31, 40, 41];

        // When reordered for llama.cpp
        var gguf = GgufExport.PermuteRotary(hf, rows: 8, columns: 1, heads: 2);

        // Then each head's first-half row i sits next to its second-half row i: [a0 b0 a1 b1]
        Assert.Equal([10, 20, 11, 21, 30, 40, 31, 41], gguf);
        // And a second column moves with its row
        var wide = GgufExport.PermuteRotary([1, 2, 3, 4, 5, 6, 7, 8], rows: 4, columns: 2, heads: 1);
        Assert.Equal([1, 2, 5, 6, 3, 4, 7, 8], wide);
    }

    [Theory]
    [InlineData("model.embed_tokens.weight", "token_embd.weight")]
    [InlineData("model.norm.weight", "output_norm.weight")]
    [InlineData("lm_head.weight", "output.weight")]
    [InlineData("model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight")]
    [InlineData("model.layers.11.post_attention_layernorm.weight", "blk.11.ffn_norm.weight")]
    [InlineData("model.layers.1.self_attn.q_proj.bias", "blk.1.attn_q.bias")]
    [InlineData("model.layers.1.self_attn.o_proj.weight", "blk.1.attn_output.weight")]
    [InlineData("model.layers.3.mlp.down_proj.weight", "blk.3.ffn_down.weight")]
    [InlineData("model.layers.3.mlp.experts.0.weight", null)]
    public void Checkpoint_keys_get_llama_cpp_tensor_names(string key, string? expected) =>
        Assert.Equal(expected, GgufExport.TensorName(key));

    [Fact]
    public void A_qwen2_export_keeps_its_biases_and_a_tied_model_has_no_output_matrix()
    {
        // Given a tiny Qwen2 (q/k/v biases) and a tiny Llama with tied embeddings
        var qwen = GgufExport.Export(models.Get("qwen2"), models.File("qwen2.gguf"), GgufType.F16);
        var tied = GgufExport.Export(models.Get("llama", tied: true), models.File("tied.gguf"), GgufType.F32);

        // Then Qwen2 has 2 × 12 + 3 tensors and the tied Llama 2 × 9 + 2, and llama.cpp loads both
        using (var stream = File.OpenRead(qwen.Path))
        {
            Assert.Equal(27ul, GgufFileWriter.ReadHeader(stream).Tensors);
        }
        using (var stream = File.OpenRead(tied.Path))
        {
            Assert.Equal(20ul, GgufFileWriter.ReadHeader(stream).Tensors);
        }
        LlamaSharpLogging.EnsureInstalled();
        using var q = LLamaWeights.LoadFromFile(new ModelParams(qwen.Path));
        Assert.Equal("qwen2", q.Metadata["general.architecture"]);
        Assert.False(q.Vocab.ShouldAddBOS);
        using var t = LLamaWeights.LoadFromFile(new ModelParams(tied.Path));
        Assert.Equal("llama", t.Metadata["general.architecture"]);
    }

    [Fact]
    public void Cached_exports_are_reused_until_the_checkpoint_changes()
    {
        // Given a model exported once through the cache
        var model = GgufTestModels.Create(Path.GetDirectoryName(models.File("x"))!, "mistral");
        var first = GgufExport.ExportCached(model, GgufType.F32);

        // When it is asked for again, and again after config.json changed
        var second = GgufExport.ExportCached(model, GgufType.F32);
        var configPath = Path.Combine(model, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["rms_norm_eps"] = 1e-6;
        File.WriteAllText(configPath, config.ToJsonString());
        var third = GgufExport.ExportCached(model, GgufType.F32);

        // Then the second call reuses the file in <model>/gguf and the third writes a new one
        Assert.False(first.FromCache);
        Assert.StartsWith(Path.Combine(model, GgufExport.CacheFolderName), first.Path, StringComparison.Ordinal);
        Assert.EndsWith($"{first.CheckpointHash}-f32.gguf", first.Path, StringComparison.Ordinal);
        Assert.True(second.FromCache);
        Assert.Equal(first.Path, second.Path);
        Assert.False(third.FromCache);
        Assert.NotEqual(first.CheckpointHash, third.CheckpointHash);
    }

    [Fact]
    public void An_architecture_the_exporter_does_not_support_is_refused_by_name()
    {
        // Given a tiny BERT encoder
        var corpus = models.File("bert-corpus.txt");
        File.WriteAllLines(corpus, Enumerable.Repeat("some words for a wordpiece vocabulary", 20));
        var bert = models.File("bert");
        ModelInitializer.Create(new ModelInitOptions { Architecture = "bert", Preset = "tiny", Tokenizer = ModelInitOptions.TrainPrefix + corpus, OutputDirectory = bert, VocabSize = 120 });

        // When it is exported, Then the error names the architecture and what is supported, and no file is left
        var error = Assert.Throws<SkimFormatException>(() => GgufExport.Export(bert, models.File("bert.gguf"), GgufType.F32));
        Assert.Contains("architecture 'bert'", error.Message, StringComparison.Ordinal);
        Assert.Contains("llama, mistral, qwen2", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(models.File("bert.gguf")));
    }

    [Fact]
    public void A_model_without_tokenizer_files_is_refused()
    {
        // Given a tiny Llama whose tokenizer files were removed
        var model = GgufTestModels.Create(Path.GetDirectoryName(models.File("x"))!, "qwen2", tied: true);
        foreach (var name in ModelInspector.TokenizerFileNames)
        {
            File.Delete(Path.Combine(model, name));
        }

        // When it is exported, Then the error says a GGUF file needs the vocabulary
        var error = Assert.Throws<SkimFormatException>(() => GgufExport.Export(model, models.File("none.gguf"), GgufType.F32));
        Assert.Contains("no tokenizer files", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("q3_k")]
    [InlineData("bf16")]
    [InlineData("")]
    public void An_unknown_type_is_refused_with_the_choices(string type)
    {
        var error = Assert.Throws<SkimConfigException>(() => GgufTypes.Parse(type));
        Assert.Contains("--type", error.Message, StringComparison.Ordinal);
        Assert.Contains(GgufTypes.Choices, error.Message, StringComparison.Ordinal);
    }
}
