using Skim.Models.Generation;
using Skim.Models.Llama;
using Skim.Models.Tests.Llama;
using Skim.Models.Tests.Tokenization;
using Skim.Models.Tokenization;

namespace Skim.Models.Tests.Generation;

public sealed partial class LlamaGeneratorTests
{
    // Ids below 128 are real tokens of all three tokenizers (1 is SentencePiece's BOS).
    private static readonly IReadOnlyList<IReadOnlyList<int>> s_stopPrompts = [[1, 40, 41, 42, 43, 44], [1, 70], [1, 90, 91, 92], [1, 50, 51, 52, 53, 54, 55, 56], [1, 33]];

    public static TheoryData<string, bool> StopStringRuns => new()
    {
        { "character", false },
        { "character", true },
        { "gpt2", false },
        { "gpt2", true },
        { "sentencepiece", false },
        { "sentencepiece", true },
    };

    [Theory]
    [MemberData(nameof(StopStringRuns))]
    public void Stop_strings_end_sequences_where_a_naive_full_decode_after_every_token_ends_them(string tokenizerName, bool sampled)
    {
        // Given a tiny model over the tokenizer's first ids (GPT-2's first 1024 hold byte tokens that
        // end inside characters; the SentencePiece fixture's 512 hold specials, byte fallback and pieces
        // with leading spaces), five prompts of different lengths, and their continuations without stop strings
        var (tokenizer, vocabulary) = tokenizerName switch
        {
            "gpt2" => ((ITextTokenizer)ByteLevelBpeTokenizer.FromFiles(Path.Combine(TokenizerFixtures.Gpt2, "vocab.json"), Path.Combine(TokenizerFixtures.Gpt2, "merges.txt")), 1024),
            "sentencepiece" => (SentencePieceTextTokenizer.FromModelFile(Path.Combine(TokenizerFixtures.TinySentencePiece, "tokenizer.model")), 512),
            _ => (new CharacterTokenizer(), 128),
        };
        using var model = LlamaFixtures.Create(LlamaConfig.Tiny with { VocabSize = vocabulary });
        var generator = new LlamaGenerator(model, tokenizer);
        var options = sampled
            ? new GenerationOptions { MaxNewTokens = 40, Temperature = 1.0, TopK = 30, Seed = 17, EosTokenIds = [] }
            : new GenerationOptions { MaxNewTokens = 40, Temperature = 0, EosTokenIds = [] };
        var free = Run(generator, s_stopPrompts, options, sampled);

        // When two stop strings taken from the middle of the first and third continuations are set
        string[] stops = [free[0].Text!.Substring(free[0].Text!.Length / 2, 2), free[2].Text!.Substring(free[2].Text!.Length / 3, 3)];
        var stopped = Run(generator, s_stopPrompts, options with { StopStrings = stops }, sampled);

        // Then every sequence is its free continuation up to the first id after which decoding all of
        // it shows a stop string, and its text is that decoding cut before the earliest one
        for (var i = 0; i < s_stopPrompts.Count; i++)
        {
            var (count, text, finish) = NaiveStop(tokenizer, free[i], stops);
            Assert.Equal(free[i].TokenIds.Take(count), stopped[i].TokenIds);
            Assert.Equal(text, stopped[i].Text);
            Assert.Equal(finish, stopped[i].Finish);
        }
        Assert.Contains(stopped, s => s.Finish == FinishReason.StopString);
    }

    [Fact]
    public void Tensors_left_alive_by_generation_do_not_grow_with_steps_or_dropped_rows()
    {
        // Given the recorded run's model, prompts and options (rows end by EOS, stop string and length
        // at different steps, so finished rows are dropped from the batch and the cache), after a
        // warm-up, and the tensors a one-step run leaves alive (reading the model's device from its
        // embedding weight makes a TorchSharp handle per call, which the GC collects)
        using var model = LlamaFixtures.Create();
        var tokenizer = new CharacterTokenizer();
        var generator = new LlamaGenerator(model, tokenizer);
        var prompts = s_recordedPrompts.Select(p => (IReadOnlyList<int>)tokenizer.Encode(p)).ToList();
        var options = new GenerationOptions { MaxNewTokens = 24, Temperature = 0.9, TopK = 20, Seed = 11, EosTokenIds = [108], StopStrings = ["x:", "tG", "_X", ":?", "Nn", "xE"] };
        generator.Generate(prompts, options);
        var start = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        generator.Generate(prompts, options with { MaxNewTokens = 1 });
        var perCall = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount - start;

        // When all 24 steps run
        start = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var generated = generator.Generate(prompts, options);

        // Then rows finished early, and the run left no more tensors alive than the one-step run:
        // every step's and every drop's tensors were freed when they were replaced
        Assert.Contains(generated, s => s.Finish == FinishReason.StopString);
        Assert.Equal(perCall, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount - start);
    }

    // Sampled runs go one prompt per call: a fresh sampler with the same seed draws the same numbers
    // until the sequence stops, which a shared batch stops guaranteeing once finished rows are dropped.
    private static List<GeneratedSequence> Run(LlamaGenerator generator, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, bool sampled) =>
        sampled ? [.. prompts.Select(p => generator.Generate([p], options)[0])] : [.. generator.Generate(prompts, options)];

    // What the generator did before the tail window: decode the whole continuation after every id.
    private static (int Count, string? Text, FinishReason Finish) NaiveStop(ITextTokenizer tokenizer, GeneratedSequence free, IReadOnlyList<string> stops)
    {
        for (var n = 1; n <= free.TokenIds.Count; n++)
        {
            if (StopStringMatcherTests.NaiveTextBeforeStop(tokenizer, [.. free.TokenIds.Take(n)], stops) is { } cut)
            {
                return (n, cut, FinishReason.StopString);
            }
        }
        return (free.TokenIds.Count, free.Text, FinishReason.Length);
    }
}
