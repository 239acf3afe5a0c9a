using Skim.Core.Formats.SafeTensors;
using Skim.Models.Llama;

namespace Skim.Models.Tests.Llama;

[Collection(LibTorchCollection.Name)]
public sealed class LlamaLegacyCheckpointTests
{
    [Fact]
    public void A_checkpoint_that_stores_rotary_inv_freq_buffers_loads_and_computes_the_same_logits()
    {
        // Given a tiny checkpoint rewritten the way transformers < 4.31 saved Llama-2: with one
        // self_attn.rotary_emb.inv_freq buffer per layer beside the weights
        using var dir = new TempDirectory();
        var folder = LlamaFixtures.Write(dir.File("model"));
        var weightsPath = Path.Combine(folder, "model.safetensors");
        List<RawTensor> tensors;
        using (var file = SafeTensorsFile.Open(weightsPath))
        {
            tensors = [.. file.Names.Select(name => new RawTensor(name, file[name].DType, file[name].Shape, file[name].GetBytes()))];
        }
        var config = LlamaConfig.Tiny;
        var half = config.HeadDim / 2;
        var invFreq = Enumerable.Range(0, half).Select(i => (float)(1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.HeadDim))).ToArray();
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            tensors.Add(RawTensor.FromFloat32($"model.layers.{layer}.self_attn.rotary_emb.inv_freq", [half], invFreq));
        }
        SafeTensorsWriter.Write(weightsPath, tensors);

        // When it is loaded
        using var reference = LlamaFixtures.Create();
        using var loaded = LlamaForCausalLM.FromPretrained(folder);

        // Then the buffers are ignored and the logits equal those of the original model
        long[] ids = [1, 5, 9, 3, 7];
        LlamaFixtures.AssertClose(LlamaFixtures.Logits(reference, ids, 1), LlamaFixtures.Logits(loaded, ids, 1), 1e-6, "logits");
    }
}
