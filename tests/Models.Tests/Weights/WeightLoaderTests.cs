using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Models.DistilBert;
using Skim.Models.Tests.Encoders;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Weights;

[Collection(LibTorchCollection.Name)]
public sealed class WeightLoaderTests
{
    [Fact]
    public void Strict_loading_reports_every_missing_unexpected_and_mismatched_key_in_one_error()
    {
        // Given a checkpoint with one key missing, one extra key, and two tensors of the wrong shape
        using var source = EncoderFixtures.TinyDistilBert();
        var weights = source.state_dict().ToDictionary(e => e.Key, e => TensorConversion.ToRaw(e.Key, e.Value));
        weights.Remove("transformer.layer.1.ffn.lin2.bias");
        weights["transformer.layer.9.ffn.lin1.weight"] = RawTensor.FromFloat32("x", [1], [0f]);
        weights["embeddings.word_embeddings.weight"] = RawTensor.FromFloat32("x", [2, 32], new float[64]);
        weights["transformer.layer.0.attention.q_lin.bias"] = RawTensor.FromFloat32("x", [31], new float[31]);
        using var target = new DistilBertModel(DistilBertConfig.Tiny);
        using var before = target.state_dict()["transformer.layer.0.attention.k_lin.weight"].clone();

        // When it is loaded strictly
        var error = Assert.Throws<SkimFormatException>(() => WeightLoader.LoadStrict(target, weights, "ckpt.safetensors"));

        // Then one line names all four problems, and nothing was copied
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("ckpt.safetensors: weights do not fit DistilBertModel:", error.Message, StringComparison.Ordinal);
        Assert.Contains("1 missing key: transformer.layer.1.ffn.lin2.bias", error.Message, StringComparison.Ordinal);
        Assert.Contains("1 unexpected key: transformer.layer.9.ffn.lin1.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("2 shape mismatches: embeddings.word_embeddings.weight (expected [128, 32], found [2, 32]), transformer.layer.0.attention.q_lin.bias (expected [32], found [31])", error.Message, StringComparison.Ordinal);
        Assert.True(before.equal(target.state_dict()["transformer.layer.0.attention.k_lin.weight"]).all().item<bool>());
    }

    [Fact]
    public void Strict_loading_copies_every_tensor_and_converts_half_precision_to_the_module_dtype()
    {
        // Given a model's weights stored as float16, and a fresh float32 model
        using var source = EncoderFixtures.TinyDistilBert(seed: 3);
        var weights = source.state_dict().ToDictionary(e => e.Key, e => TensorConversion.ToRaw(e.Key, e.Value, TensorDType.Float16));
        using var target = new DistilBertModel(DistilBertConfig.Tiny);

        // When they are loaded
        var count = WeightLoader.LoadStrict(target, weights, "half.safetensors");

        // Then every tensor equals the source rounded to float16, held as float32
        Assert.Equal(source.state_dict().Count, count);
        foreach (var (key, value) in target.state_dict())
        {
            Assert.Equal(ScalarType.Float32, value.dtype);
            using var expected = source.state_dict()[key].to_type(ScalarType.Float16).to_type(ScalarType.Float32);
            Assert.True(expected.equal(value).all().item<bool>(), key);
        }
    }
}
