using Skim.Generate.Backends;
using Skim.Generate.Gguf;
using Skim.Generate.Tests.Gguf;
using Skim.Generate.Tests.Runs;
using Skim.Models.Generation;
using Skim.Models.Llama;
using Skim.Models.Tokenization;
using Xunit.Abstractions;

namespace Skim.Generate.Tests.Backends;

/// <summary>
/// The f32 GGUF in llama.cpp against Skim's TorchSharp engine on the same checkpoint, in one process
/// (so these tests also show that libtorch and llama.cpp run side by side).
/// </summary>
[Collection(GenerateLibTorchCollection.Name)]
public sealed class LlamaSharpParityTests(TinyModelsFixture models, ITestOutputHelper output) : IClassFixture<TinyModelsFixture>
{
    private static readonly string[] s_prompts = ["list files", "Café déjà vu", "def f(x):", "😀 emoji 12345", "the quick brown fox"];

    [Theory]
    [InlineData("llama", false)]
    [InlineData("qwen2", false)]
    [InlineData("mistral", false)]
    [InlineData("llama", true)]
    [InlineData("qwen2", true)]
    public async Task Greedy_tokens_of_the_f32_gguf_equal_the_torch_engines(string architecture, bool tied)
    {
        // Given a tiny checkpoint, its f32 GGUF in llama.cpp and the checkpoint in the TorchSharp engine
        var folder = models.Get(architecture, tied);
        using var backend = new LlamaSharpBackend(new LlamaSharpBackendOptions
        {
            ModelDirectory = folder,
            Quant = "f32",
            Temperature = 0,
            MaxNewTokens = 20,
            BatchSize = 3,
            Threads = 2,
            ContextSize = 64,
            IgnoreEos = true,
        });
        using var model = LlamaForCausalLM.FromPretrained(folder);
        var tokenizer = TokenizerLoader.Load(folder);
        var generator = new LlamaGenerator(model, tokenizer);

        // When both continue the same prompts greedily for 20 tokens (EOS ignored, so every row runs the full length)
        var llama = await backend.GenerateTokensAsync([.. s_prompts.Select((p, i) => new BackendRequest(i, p, i))], CancellationToken.None);
        var torch = generator.Generate(
            [.. s_prompts.Select(p => (IReadOnlyList<int>)tokenizer.Encode(p, addSpecialTokens: true))],
            new GenerationOptions { Temperature = 0, MaxNewTokens = 20, EosTokenIds = [], BatchSize = s_prompts.Length });

        // Then the prompts have the same lengths and every generated token is the same
        for (var i = 0; i < s_prompts.Length; i++)
        {
            output.WriteLine($"{architecture} tied={tied} '{s_prompts[i]}': {string.Join(' ', llama[i].Tokens)}");
            Assert.Equal(torch[i].PromptTokenCount, llama[i].Output.PromptTokens);
            Assert.Equal(20, llama[i].Tokens.Count);
            Assert.Equal(torch[i].TokenIds, llama[i].Tokens);
        }
        // And the tokens are not all one repeated id (tied random models settle on few tokens, but not on one)
        Assert.True(llama.SelectMany(r => r.Tokens).Distinct().Count() > 1);
    }

    [Theory]
    [InlineData("llama", false)]
    [InlineData("qwen2", false)]
    [InlineData("llama", true)]
    public void The_gguf_vocabulary_tokenizes_texts_to_skims_ids(string architecture, bool sentencePiece)
    {
        // Given a model with a byte-level BPE (trained) or SentencePiece (fixture) tokenizer and its GGUF
        var folder = models.Get(architecture, sentencePiece: sentencePiece);
        using var backend = new LlamaSharpBackend(new LlamaSharpBackendOptions { ModelDirectory = folder, BatchSize = 1, Threads = 1, ContextSize = 64 });
        var tokenizer = TokenizerLoader.Load(folder);

        // When accents, emoji, code, runs of spaces and CJK are tokenized by both
        foreach (var text in GgufTestModels.Texts)
        {
            // Then the ids (with the model's BOS, if any) are the same
            Assert.Equal(tokenizer.Encode(text, addSpecialTokens: true), backend.Tokenize(text));
        }
    }
}
