using Skim.Core;
using Skim.Models.Bert;
using Skim.Models.Tests.Encoders;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Bert;

[Collection(LibTorchCollection.Name)]
public sealed class BertModelTests
{
    [Fact]
    public void State_dict_keys_match_hf_names()
    {
        // Given the tiny config with and without the pooler
        using var withPooler = new BertModel(BertConfig.Tiny);
        using var withoutPooler = new BertModel(BertConfig.Tiny, addPoolingLayer: false);

        // When the state dicts are listed
        var keys = withPooler.state_dict().Keys.ToHashSet();

        // Then they hold HF's BertModel keys: 5 embedding tensors, 16 per layer, 2 pooler tensors
        Assert.Equal(5 + 2 * 16 + 2, keys.Count);
        Assert.Equal(5 + 2 * 16, withoutPooler.state_dict().Count);
        Assert.Contains("embeddings.token_type_embeddings.weight", keys);
        Assert.Contains("encoder.layer.1.attention.self.query.weight", keys);
        Assert.Contains("encoder.layer.1.attention.output.LayerNorm.bias", keys);
        Assert.Contains("encoder.layer.0.intermediate.dense.weight", keys);
        Assert.Contains("encoder.layer.0.output.dense.bias", keys);
        Assert.Contains("pooler.dense.weight", keys);
    }

    [Fact]
    public void Padding_does_not_change_the_hidden_states_of_real_tokens()
    {
        // Given a sequence of 3 tokens, alone and padded to 6
        using var scope = NewDisposeScope();
        using var model = EncoderFixtures.TinyBert();
        var shortIds = tensor(new long[] { 2, 50, 3 }, [1, 3]);
        var longIds = tensor(new long[] { 2, 50, 3, 0, 0, 0 }, [1, 6]);
        var longMask = tensor(new long[] { 1, 1, 1, 0, 0, 0 }, [1, 6]);

        // When both are encoded
        using var noGrad = no_grad();
        var alone = model.forward(shortIds, ones(1, 3, dtype: ScalarType.Int64));
        var padded = model.forward(longIds, longMask);

        // Then the real positions agree and the pooler output has one row per sequence
        Assert.True(alone.allclose(padded.narrow(1, 0, 3), rtol: 0, atol: 1e-5));
        Assert.Equal([1L, 32L], model.Pool(padded).shape);
    }

    [Theory]
    [InlineData("{\"model_type\":\"bert\",\"hidden_act\":\"swish\"}", "key 'hidden_act'", "swish")]
    [InlineData("{\"model_type\":\"bert\",\"position_embedding_type\":\"relative_key\"}", "key 'position_embedding_type'", "relative_key")]
    [InlineData("{\"model_type\":\"bert\",\"hidden_size\":30,\"num_attention_heads\":4}", "key 'num_attention_heads'", "divisor of hidden_size 30")]
    [InlineData("{\"model_type\":\"bert\",\"is_decoder\":true}", "key 'is_decoder'", "unsupported")]
    [InlineData("{\"model_type\":\"bert\",\"hidden_size\":\"big\"}", "key 'hidden_size'", "does not fit BertConfig")]
    public void Unsupported_or_inconsistent_config_values_are_refused_by_name(string json, string location, string detail)
    {
        // Given a config.json with one bad value
        using var folder = new TempDirectory();
        File.WriteAllText(folder.File("config.json"), json);

        // When it is read
        var error = Assert.Throws<SkimFormatException>(() => BertConfig.Read(folder.File("config.json")));

        // Then the error names the key and the value
        Assert.Equal(location, error.Location);
        Assert.Contains(detail, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Layer_norm_epsilon_comes_from_the_config()
    {
        // Given two models with identical weights but different layer_norm_eps
        using var scope = NewDisposeScope();
        using var small = EncoderFixtures.TinyBert(seed: 5);
        using var large = EncoderFixtures.TinyBert(seed: 5, config: BertConfig.Tiny with { LayerNormEps = 10.0 });
        var ids = tensor(new long[] { 2, 50, 3 }, [1, 3]);
        var mask = ones(1, 3, dtype: ScalarType.Int64);

        // When both encode the same input
        using var noGrad = no_grad();
        var a = small.forward(ids, mask);
        var b = large.forward(ids, mask);

        // Then the outputs differ, so the epsilon is used
        Assert.False(a.allclose(b, rtol: 0, atol: 1e-3));
    }
}
