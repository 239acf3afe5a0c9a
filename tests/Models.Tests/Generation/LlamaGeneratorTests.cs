using Skim.Models.Generation;
using Skim.Models.Llama;
using Skim.Models.Tests.Llama;
using Skim.Models.Tokenization;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Generation;

[Collection(LibTorchCollection.Name)]
public sealed partial class LlamaGeneratorTests
{
    private static readonly IReadOnlyList<IReadOnlyList<int>> s_prompts = [[1, 40, 41, 42, 43, 44], [1, 70], [1, 90, 91, 92]];

    [Fact]
    public void The_same_seed_gives_the_same_samples_and_another_seed_other_samples()
    {
        // Given a tiny model, three prompts of different lengths and plain sampling without EOS
        using var model = LlamaFixtures.Create(LlamaFixtures.TinyQwen2);
        var generator = new LlamaGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 16, Temperature = 1.0, Seed = 1234, EosTokenIds = [] };

        // When it samples twice with seed 1234 and once with seed 99
        var first = generator.Generate(s_prompts, options);
        var second = generator.Generate(s_prompts, options);
        var other = generator.Generate(s_prompts, options with { Seed = 99 });

        // Then both seed-1234 runs agree token for token, and seed 99 differs somewhere
        Assert.Equal(first.Select(s => s.TokenIds), second.Select(s => s.TokenIds));
        Assert.All(first, s => Assert.Equal(16, s.GeneratedTokenCount));
        Assert.NotEqual(first.SelectMany(s => s.TokenIds), other.SelectMany(s => s.TokenIds));
    }

    [Fact]
    public void Greedy_batched_generation_equals_the_argmax_of_repeated_full_forward_passes()
    {
        // Given a tiny model and three prompts of different lengths (so two are left-padded)
        using var model = LlamaFixtures.Create();
        var generator = new LlamaGenerator(model);

        // When it decodes greedily with the cache in one batch
        var generated = generator.Generate(s_prompts, new GenerationOptions { MaxNewTokens = 8, Temperature = 0, EosTokenIds = [] });

        // Then each sequence equals decoding it alone, without cache, by re-running the whole prefix each step
        for (var i = 0; i < s_prompts.Count; i++)
        {
            Assert.Equal(GreedyWithoutCache(model, s_prompts[i], 8), generated[i].TokenIds);
            Assert.Equal(s_prompts[i].Count, generated[i].PromptTokenCount);
            Assert.Equal(FinishReason.Length, generated[i].Finish);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(130)]
    public void Prompts_prefilled_row_by_row_decode_as_each_prompt_alone(int extra)
    {
        // Given a tiny model and prompts of different lengths
        using var model = LlamaFixtures.Create();
        var generator = new LlamaGenerator(model);
        IReadOnlyList<IReadOnlyList<int>> prompts = [.. s_prompts.Select((p, i) => (IReadOnlyList<int>)[.. p, .. Enumerable.Range(0, extra + (5 * i)).Select(t => 2 + ((t * 7) % 100))])];

        // When it decodes greedily in one batch, the prompts prefilled one at a time into the batch cache
        var generated = generator.Generate(prompts, new GenerationOptions { MaxNewTokens = 8, Temperature = 0, EosTokenIds = [], Prefill = PrefillMode.PerRow });

        // Then each sequence equals decoding it alone without cache: the rows' keys and values sit where the
        // left-padded batch expects them, so the decoding steps after the prefill see the right positions
        for (var i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(GreedyWithoutCache(model, prompts[i], 8), generated[i].TokenIds);
        }
    }

    [Fact]
    public void Sequences_finish_independently_and_the_others_are_unaffected()
    {
        // Given the greedy continuations without EOS
        using var model = LlamaFixtures.Create();
        var generator = new LlamaGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 10, Temperature = 0, EosTokenIds = [] };
        var free = generator.Generate(s_prompts, options);

        // When the token the second prompt produces third is declared EOS
        var eos = free[1].TokenIds[2];
        var stopped = generator.Generate(s_prompts, options with { EosTokenIds = [eos] });

        // Then the second sequence stops there, and every sequence equals the free run up to its first EOS
        Assert.Equal(FinishReason.Eos, stopped[1].Finish);
        Assert.Equal(free[1].TokenIds.Take(free[1].TokenIds.ToList().IndexOf(eos) + 1), stopped[1].TokenIds);
        for (var i = 0; i < s_prompts.Count; i++)
        {
            var cut = free[i].TokenIds.ToList().IndexOf(eos);
            var expected = cut < 0 ? free[i].TokenIds : free[i].TokenIds.Take(cut + 1);
            Assert.Equal(expected, stopped[i].TokenIds);
            Assert.Equal(cut < 0 ? FinishReason.Length : FinishReason.Eos, stopped[i].Finish);
        }
    }

    [Fact]
    public void Top_k_of_one_samples_the_greedy_tokens()
    {
        // Given a tiny model
        using var model = LlamaFixtures.Create();
        var generator = new LlamaGenerator(model);
        var greedy = new GenerationOptions { MaxNewTokens = 6, Temperature = 0, EosTokenIds = [] };

        // When it samples at a high temperature but keeps only the most likely token
        var sampled = generator.Generate(s_prompts, greedy with { Temperature = 5, TopK = 1, Seed = 3 });

        // Then the samples are the greedy tokens
        Assert.Equal(generator.Generate(s_prompts, greedy).Select(s => s.TokenIds), sampled.Select(s => s.TokenIds));
    }

    [Fact]
    public void A_stop_string_ends_a_sequence_and_is_cut_from_its_text()
    {
        // Given a character tokenizer and the greedy text of one prompt
        using var model = LlamaFixtures.Create();
        var tokenizer = new CharacterTokenizer();
        var generator = new LlamaGenerator(model, tokenizer);
        var options = new GenerationOptions { MaxNewTokens = 10, Temperature = 0, EosTokenIds = [] };
        var free = generator.Generate([tokenizer.Encode("abc")], options)[0];
        var stop = free.Text!.Substring(4, 2);
        var firstAt = free.Text.IndexOf(stop, StringComparison.Ordinal);

        // When the two characters at positions 4-5 become a stop string
        var stopped = generator.Generate([tokenizer.Encode("abc")], options with { StopStrings = [stop] })[0];

        // Then generation stops after the token that completed it and the text ends before it
        Assert.Equal(FinishReason.StopString, stopped.Finish);
        Assert.Equal(free.Text[..firstAt], stopped.Text);
        Assert.Equal(free.TokenIds.Take(firstAt + 2), stopped.TokenIds);
    }

    [Fact]
    public async Task Text_prompts_stream_one_result_list_per_batch_in_input_order()
    {
        // Given five text prompts and batches of two
        using var model = LlamaFixtures.Create();
        var generator = new LlamaGenerator(model, new CharacterTokenizer());
        string[] prompts = ["a", "bb", "ccc", "dddd", "eeeee"];
        var options = new GenerationOptions { MaxNewTokens = 3, Temperature = 0.8, TopK = 20, TopP = 0.9, Seed = 5, BatchSize = 2, EosTokenIds = [] };

        // When the results are streamed
        var batches = new List<IReadOnlyList<GeneratedSequence>>();
        await foreach (var batch in generator.GenerateAsync(prompts, options))
        {
            batches.Add(batch);
        }

        // Then three batches of 2, 2 and 1 arrive, indexed 0..4, with the prompt lengths (BOS included) and texts
        Assert.Equal([2, 2, 1], batches.Select(b => b.Count));
        var all = batches.SelectMany(b => b).ToList();
        Assert.Equal([0, 1, 2, 3, 4], all.Select(s => s.Index));
        Assert.Equal([2, 3, 4, 5, 6], all.Select(s => s.PromptTokenCount));
        Assert.All(all, s => Assert.Equal(3, s.Text!.Length));
    }

    [Fact]
    public void Out_of_range_options_are_refused_by_name()
    {
        // Given options with a top_p above 1
        var options = new GenerationOptions { TopP = 1.5 };

        // When they are validated
        var error = Assert.Throws<Skim.Core.SkimConfigException>(options.Validate);

        // Then the message names the option and the value
        Assert.Contains("top_p", error.Message, StringComparison.Ordinal);
        Assert.Contains("1.5", error.Message, StringComparison.Ordinal);
    }

    private static List<int> GreedyWithoutCache(LlamaForCausalLM model, IReadOnlyList<int> prompt, int count)
    {
        var ids = prompt.Select(i => (long)i).ToList();
        var generated = new List<int>();
        using var noGrad = no_grad();
        for (var step = 0; step < count; step++)
        {
            using var scope = NewDisposeScope();
            var logits = model.forward(tensor(ids.ToArray(), [1, ids.Count]));
            var next = (int)logits.select(1, ids.Count - 1).argmax(-1).item<long>();
            generated.Add(next);
            ids.Add(next);
        }
        return generated;
    }
}
