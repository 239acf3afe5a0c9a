using Skim.Models.Generation;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Generation;

[Collection(LibTorchCollection.Name)]
public sealed class TokenSamplerTests
{
    // Probabilities 0.5, 0.3, 0.15, 0.05 over four tokens.
    private static readonly float[] s_logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];

    [Fact]
    public void Top_p_samples_only_from_the_smallest_set_reaching_the_mass()
    {
        // Given a sampler with top_p 0.7 (tokens 0 and 1 hold 0.8)
        using var sampler = new TokenSampler(new GenerationOptions { TopP = 0.7, Seed = 11 });
        using var scope = NewDisposeScope();
        using var logits = tensor(s_logits, [1, 4]).expand(2000, 4).contiguous();

        // When it draws 2000 tokens
        var drawn = sampler.Sample(logits).data<long>().ToArray();

        // Then only tokens 0 and 1 appear, in roughly 5:3 proportion
        Assert.Equal([0L, 1L], drawn.Distinct().Order());
        var share = drawn.Count(t => t == 0) / 2000.0;
        Assert.InRange(share, 0.5 / 0.8 - 0.05, 0.5 / 0.8 + 0.05);
    }

    [Fact]
    public void Top_k_samples_only_from_the_k_most_likely_tokens()
    {
        // Given a sampler with top_k 3
        using var sampler = new TokenSampler(new GenerationOptions { TopK = 3, Seed = 12 });
        using var scope = NewDisposeScope();
        using var logits = tensor(s_logits, [1, 4]).expand(2000, 4).contiguous();

        // When it draws 2000 tokens
        var drawn = sampler.Sample(logits).data<long>().ToArray();

        // Then token 3 never appears and the three others do
        Assert.Equal([0L, 1L, 2L], drawn.Distinct().Order());
    }

    [Fact]
    public void Top_p_after_top_k_renormalises_over_the_k_tokens_and_keeps_their_proportions()
    {
        // Given a sampler with top_k 3 then top_p 0.6: renormalised over tokens 0–2 (0.5, 0.3, 0.15
        // of 0.95), tokens 0 and 1 hold 0.84 > 0.6 while token 0 alone holds 0.53 < 0.6
        using var sampler = new TokenSampler(new GenerationOptions { TopK = 3, TopP = 0.6, Seed = 13 });
        using var scope = NewDisposeScope();
        using var logits = tensor(s_logits, [1, 4]).expand(4000, 4).contiguous();

        // When it draws 4000 tokens
        var drawn = sampler.Sample(logits).data<long>().ToArray();

        // Then only tokens 0 and 1 appear, in 5:3 proportion
        Assert.Equal([0L, 1L], drawn.Distinct().Order());
        var share = drawn.Count(t => t == 0) / 4000.0;
        Assert.InRange(share, 0.5 / 0.8 - 0.04, 0.5 / 0.8 + 0.04);
    }

    [Fact]
    public void A_low_temperature_sharpens_and_temperature_zero_is_argmax()
    {
        // Given samplers at temperature 0.2 and 0
        using var cold = new TokenSampler(new GenerationOptions { Temperature = 0.2, Seed = 13 });
        using var greedy = new TokenSampler(new GenerationOptions { Temperature = 0 });
        using var scope = NewDisposeScope();
        using var logits = tensor(s_logits, [1, 4]).expand(2000, 4).contiguous();

        // When each draws 2000 tokens
        var coldDrawn = cold.Sample(logits).data<long>().ToArray();
        var greedyDrawn = greedy.Sample(logits).data<long>().ToArray();

        // Then the cold sampler picks token 0 far more often than its 50 % and greedy always does
        Assert.True(coldDrawn.Count(t => t == 0) > 1800, $"token 0 drawn {coldDrawn.Count(t => t == 0)} times of 2000");
        Assert.All(greedyDrawn, t => Assert.Equal(0L, t));
    }
}
