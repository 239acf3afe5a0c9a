using Skim.Models.Generation;
using Skim.Models.Tests.Llama;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Generation;

[Collection(LibTorchCollection.Name)]
public sealed class PerItemSamplerTests
{
    // Probabilities 0.5, 0.3, 0.15, 0.05 over four tokens.
    private static readonly float[] s_logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];

    private static readonly IReadOnlyList<IReadOnlyList<int>> s_prompts = [[1, 40, 41, 42, 43, 44], [1, 70], [1, 90, 91, 92], [1, 5, 6, 7, 8, 9, 10, 11, 12]];

    [Fact]
    public void Draws_over_many_seeds_follow_the_softmax_and_top_k_and_top_p_filter_as_the_shared_sampler_does()
    {
        // Given plain sampling, top_k 3, and top_p 0.7 (tokens 0 and 1 hold 0.8)
        var plain = new PerItemSampler(new GenerationOptions { Temperature = 1 });
        var topK = new PerItemSampler(new GenerationOptions { Temperature = 1, TopK = 3 });
        var topP = new PerItemSampler(new GenerationOptions { Temperature = 1, TopP = 0.7 });
        using var scope = NewDisposeScope();
        using var logits = tensor(s_logits, [1, 4]).expand(4000, 4).contiguous();
        var seeds = Enumerable.Range(0, 4000).Select(i => (long)i).ToArray();
        var steps = new int[4000];

        // When each draws one token for 4000 seeds
        var fromPlain = plain.Sample(logits, seeds, steps).data<long>().ToArray();
        var fromTopK = topK.Sample(logits, seeds, steps).data<long>().ToArray();
        var fromTopP = topP.Sample(logits, seeds, steps).data<long>().ToArray();

        // Then plain draws match 0.5/0.3/0.15/0.05, top_k never draws token 3, top_p only 0 and 1 in 5:3
        double Share(long[] drawn, long token) => drawn.Count(t => t == token) / (double)drawn.Length;
        Assert.InRange(Share(fromPlain, 0), 0.46, 0.54);
        Assert.InRange(Share(fromPlain, 1), 0.26, 0.34);
        Assert.InRange(Share(fromPlain, 3), 0.035, 0.065);
        Assert.Equal([0L, 1L, 2L], fromTopK.Distinct().Order());
        Assert.Equal([0L, 1L], fromTopP.Distinct().Order());
        Assert.InRange(Share(fromTopP, 0), (0.5 / 0.8) - 0.04, (0.5 / 0.8) + 0.04);
    }

    [Fact]
    public void A_draw_depends_on_the_seed_and_the_step_but_not_on_the_candidates_order()
    {
        // Given one sampler and the four logits in two orders
        var sampler = new PerItemSampler(new GenerationOptions { Temperature = 1 });
        long[] ids = [0, 1, 2, 3];
        float[] reversedLogits = [.. s_logits.Reverse()];
        long[] reversedIds = [.. ids.Reverse()];

        // When it chooses for many (seed, step) pairs in both orders
        var pairs = Enumerable.Range(0, 200).Select(i => (Seed: (long)(i / 10), Step: i % 10)).ToList();
        var forward = pairs.Select(p => sampler.Choose(s_logits, ids, p.Seed, p.Step)).ToList();
        var backward = pairs.Select(p => sampler.Choose(reversedLogits, reversedIds, p.Seed, p.Step)).ToList();

        // Then the orders agree, and both seeds and steps change the draws
        Assert.Equal(forward, backward);
        Assert.True(forward.Distinct().Count() > 1);
        Assert.NotEqual(forward.Where((_, i) => pairs[i].Seed == 0), forward.Where((_, i) => pairs[i].Seed == 1));
    }

    [Fact]
    public void Per_prompt_seeds_give_each_prompt_the_continuation_it_has_alone_whatever_its_batch()
    {
        // Given a tiny model, four prompts of different lengths, sampling with top_k and top_p, and one seed per prompt
        using var model = LlamaFixtures.Create(LlamaFixtures.TinyQwen2);
        var generator = new LlamaGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 12, Temperature = 0.8, TopK = 20, TopP = 0.95, EosTokenIds = [] };
        long[] seeds = [101, 202, 303, 404];

        // When the four are generated in one batch, in reverse order in another, and each alone
        var together = generator.Generate(s_prompts, seeds, options);
        var reversed = generator.Generate([.. s_prompts.Reverse()], [.. seeds.Reverse()], options);
        var alone = s_prompts.Select((p, i) => generator.Generate([p], [seeds[i]], options)[0]).ToList();

        // Then every prompt's tokens are the same in all three, and different seeds give different tokens
        for (var i = 0; i < s_prompts.Count; i++)
        {
            Assert.Equal(alone[i].TokenIds, together[i].TokenIds);
            Assert.Equal(alone[i].TokenIds, reversed[s_prompts.Count - 1 - i].TokenIds);
        }
        var reseeded = generator.Generate(s_prompts, [.. seeds.Select(s => s + 1)], options);
        Assert.NotEqual(together.SelectMany(s => s.TokenIds), reseeded.SelectMany(s => s.TokenIds));
        Assert.Throws<ArgumentException>(() => generator.Generate(s_prompts, [1L], options));
    }
}
