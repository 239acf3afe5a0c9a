using Skim.Models.DistilBert;
using Skim.Models.Tests.Encoders;
using static TorchSharp.torch;

namespace Skim.Models.Tests.DistilBert;

[Collection(LibTorchCollection.Name)]
public sealed class DistilBertModelTests
{
    [Fact]
    public void State_dict_keys_match_hf_names()
    {
        // Given the tiny config
        using var model = new DistilBertModel(DistilBertConfig.Tiny);

        // When its state dict is listed
        var keys = model.state_dict().Keys.ToHashSet();

        // Then it holds exactly HF's DistilBertModel keys: 4 embedding tensors and 16 per layer
        Assert.Equal(4 + 2 * 16, keys.Count);
        Assert.Contains("embeddings.word_embeddings.weight", keys);
        Assert.Contains("embeddings.LayerNorm.bias", keys);
        Assert.Contains("transformer.layer.1.attention.out_lin.weight", keys);
        Assert.Contains("transformer.layer.1.sa_layer_norm.weight", keys);
        Assert.Contains("transformer.layer.0.ffn.lin1.bias", keys);
        Assert.Contains("transformer.layer.0.output_layer_norm.weight", keys);
    }

    [Fact]
    public void Padding_does_not_change_the_hidden_states_of_real_tokens()
    {
        // Given a sequence of 4 tokens, alone and padded to 7 with arbitrary pad ids
        using var scope = NewDisposeScope();
        using var model = EncoderFixtures.TinyDistilBert();
        var shortIds = tensor(new long[] { 2, 33, 120, 9 }, [1, 4]);
        var shortMask = ones(1, 4, dtype: ScalarType.Int64);
        var longIds = tensor(new long[] { 2, 33, 120, 9, 77, 5, 1 }, [1, 7]);
        var longMask = tensor(new long[] { 1, 1, 1, 1, 0, 0, 0 }, [1, 7]);

        // When both are encoded
        using var noGrad = no_grad();
        var alone = model.forward(shortIds, shortMask); // (1, 4, 32)
        var padded = model.forward(longIds, longMask); // (1, 7, 32)

        // Then the first 4 positions agree
        Assert.Equal([1L, 7L, 32L], padded.shape);
        Assert.True(alone.allclose(padded.narrow(1, 0, 4), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Masking_a_key_changes_the_result()
    {
        // Given one sequence with and without its last token masked
        using var scope = NewDisposeScope();
        using var model = EncoderFixtures.TinyDistilBert();
        var ids = tensor(new long[] { 2, 33, 120, 9 }, [1, 4]);

        // When both are encoded
        using var noGrad = no_grad();
        var full = model.forward(ids, ones(1, 4, dtype: ScalarType.Int64));
        var masked = model.forward(ids, tensor(new long[] { 1, 1, 1, 0 }, [1, 4]));

        // Then the first token's state differs (the mask is applied, not ignored)
        Assert.False(full.narrow(1, 0, 1).allclose(masked.narrow(1, 0, 1), rtol: 0, atol: 1e-4));
    }
}
