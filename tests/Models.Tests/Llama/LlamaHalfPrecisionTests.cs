using Skim.Models.Generation;
using Skim.Models.Llama;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Llama;

/// <summary>
/// bfloat16 and float16 on the CPU: checkpoints load converted, the whole forward (RMSNorm in float32,
/// rotary tables, SDPA, KV cache) runs in the half type, and the results stay near float32's.
/// </summary>
[Collection(LibTorchCollection.Name)]
public sealed class LlamaHalfPrecisionTests
{
    private static readonly long[] s_ids = [1, 17, 42, 99, 5, 63, 8, 120, 1, 2, 3, 4, 5, 6, 7, 8];

    [Theory]
    [InlineData(ScalarType.BFloat16, 0.05)]
    [InlineData(ScalarType.Float16, 0.01)]
    public void A_checkpoint_loaded_in_half_precision_gives_logits_near_float32(ScalarType dtype, double relativeError)
    {
        // Given a tiny GQA checkpoint on disk, loaded once in float32 and once in the half type
        using var dir = new TempDirectory();
        LlamaFixtures.Write(dir.Path, LlamaFixtures.TinyQwen2);
        using var full = LlamaForCausalLM.FromPretrained(dir.Path);
        using var half = LlamaForCausalLM.FromPretrained(dir.Path, dtype: dtype);
        Assert.All(half.parameters(), p => Assert.Equal(dtype, p.dtype));

        // When both run the same padded batch of two sequences
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var ids = tensor(s_ids, [2, 8]);
        using var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1 }, [2, 8]);
        using var expected = full.forward(ids, mask);
        using var actual = half.forward(ids, mask);

        // Then the half logits keep their dtype and differ from float32's by a few rounding steps of
        // the half type (bf16 keeps 8 significant bits, f16 11), measured as a relative norm over the
        // real positions; a wrong cast or a lost RMSNorm upcast gives errors of order one
        Assert.Equal(dtype, actual.dtype);
        using var realRows = mask.to_type(ScalarType.Bool).unsqueeze(-1); // (B, T, 1)
        using var difference = (actual.to_type(ScalarType.Float32) - expected).masked_fill(realRows.logical_not(), 0);
        using var reference = expected.masked_fill(realRows.logical_not(), 0);
        var error = difference.norm().item<float>() / reference.norm().item<float>();
        Assert.True(error < relativeError, $"relative error {error:G3} of {dtype} logits exceeds {relativeError}");
    }

    [Fact]
    public void Bfloat16_cached_decoding_follows_the_bfloat16_full_forward_pass()
    {
        // Given a tiny GQA checkpoint loaded in bfloat16 and one prompt
        using var dir = new TempDirectory();
        LlamaFixtures.Write(dir.Path, LlamaFixtures.TinyQwen2);
        using var model = LlamaForCausalLM.FromPretrained(dir.Path, dtype: ScalarType.BFloat16);
        var generator = new LlamaGenerator(model);

        // When it decodes 6 tokens greedily with the KV cache
        var generated = generator.Generate([[1, 40, 41, 42]], new GenerationOptions { MaxNewTokens = 6, Temperature = 0, EosTokenIds = [] });

        // Then each token is the argmax of a full bfloat16 pass over the prefix, or ties with it within
        // bf16 rounding (the cache reorders the additions of attention)
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var prefix = new List<long> { 1, 40, 41, 42 };
        foreach (var token in generated[0].TokenIds)
        {
            using var ids = tensor(prefix.ToArray(), [1, prefix.Count]);
            using var logits = model.forward(ids, lastPositionOnly: true); // (1, 1, V)
            using var scores = logits.to_type(ScalarType.Float32).flatten();
            var best = scores.max().item<float>();
            var chosen = scores[token].item<float>();
            Assert.True(best - chosen <= 0.02 * Math.Max(1, Math.Abs(best)), $"token {token} scores {chosen}, the best scores {best}");
            prefix.Add(token);
        }
        Assert.Equal(6, generated[0].GeneratedTokenCount);
    }
}
