using Skim.Core;
using Skim.Generate.Backends;
using Skim.Generate.Tests.Gguf;
using Skim.Generate.Tests.Runs;

namespace Skim.Generate.Tests.Backends;

[Collection(GenerateLibTorchCollection.Name)]
public sealed class LlamaSharpBackendTests(TinyModelsFixture models) : IClassFixture<TinyModelsFixture>
{
    private static readonly BackendRequest[] s_requests =
    [
        .. Enumerable.Range(0, 10).Select(i => new BackendRequest(100 + i, $"page {i}: list files and print", 1000 + (i % 7))),
    ];

    private LlamaSharpBackendOptions Options(int batchSize) => new()
    {
        ModelDirectory = models.Get("llama"),
        BatchSize = batchSize,
        Threads = 2,
        ContextSize = 64,
        MaxNewTokens = 12,
    };

    [Fact]
    public async Task Batch_sizes_1_and_8_give_identical_texts_for_the_same_seeds()
    {
        // Given ten prompts with per-item seeds, sampled at temperature 0.8 with top-k 200
        using var one = new LlamaSharpBackend(Options(1));
        using var eight = new LlamaSharpBackend(Options(8));

        // When they are generated one sequence at a time and eight at a time
        var single = await one.GenerateAsync(s_requests, CancellationToken.None);
        var batched = await eight.GenerateAsync(s_requests, CancellationToken.None);

        // Then every item has the same text, token counts and finish reason, in request order
        Assert.Equal(s_requests.Select(r => r.Item), batched.Select(o => o.Item));
        Assert.Equal(single, batched);
        // And the sampling is real: the items' texts differ
        Assert.True(single.Select(o => o.Text).Distinct().Count() > 5);
    }

    [Fact]
    public async Task An_items_text_depends_on_its_seed_not_on_its_neighbours()
    {
        // Given one prompt asked for twice with one seed and once with another, among other prompts
        using var backend = new LlamaSharpBackend(Options(4));
        BackendRequest[] requests =
        [
            new(0, "print matching lines", 5), new(1, "list", 9), new(2, "print matching lines", 5), new(3, "print matching lines", 6),
        ];

        // When they are generated together
        var outputs = await backend.GenerateAsync(requests, CancellationToken.None);

        // Then the two requests with the same seed agree and the other seed gives another text
        Assert.Equal(outputs[0] with { Item = 2 }, outputs[2]);
        Assert.NotEqual(outputs[0].Text, outputs[3].Text);
    }

    [Fact]
    public async Task A_stop_string_ends_the_text_before_it_with_reason_stop_and_the_token_limit_with_length()
    {
        // Given unrestricted continuations of a few prompts
        using var free = new LlamaSharpBackend(Options(4) with { MaxNewTokens = 16 });
        var requests = s_requests[..4];
        var unrestricted = await free.GenerateAsync(requests, CancellationToken.None);
        Assert.All(unrestricted.Where(o => o.FinishReason == "length"), o => Assert.Equal(16, o.GeneratedTokens));

        // When the first continuation's characters 3..5 are made a stop string
        var sample = unrestricted.First(o => o.FinishReason == "length" && o.Text.Length > 6);
        var stop = sample.Text.Substring(3, 2);
        using var stopped = new LlamaSharpBackend(Options(4) with { MaxNewTokens = 16, StopStrings = [stop] });
        var outputs = await stopped.GenerateAsync(requests, CancellationToken.None);

        // Then that item ends right before the stop string's first occurrence, with "stop"
        var index = Array.IndexOf([.. unrestricted], sample);
        Assert.Equal("stop", outputs[index].FinishReason);
        Assert.Equal(sample.Text[..sample.Text.IndexOf(stop, StringComparison.Ordinal)], outputs[index].Text);
        Assert.True(outputs[index].GeneratedTokens < 16);
        // And items whose text never contains it are unchanged
        for (var i = 0; i < requests.Length; i++)
        {
            if (!unrestricted[i].Text.Contains(stop, StringComparison.Ordinal))
            {
                Assert.Equal(unrestricted[i], outputs[i]);
            }
        }
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_refused_naming_its_item()
    {
        using var backend = new LlamaSharpBackend(Options(2) with { ContextSize = 16 });
        var error = await Assert.ThrowsAsync<SkimDataException>(() =>
            backend.GenerateAsync([new BackendRequest(42, string.Join(' ', Enumerable.Repeat("list files", 20)), 1)], CancellationToken.None));
        Assert.Contains("item 42", error.Message, StringComparison.Ordinal);
        Assert.Contains("--context-size", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "--batch-size")]
    [InlineData(-1, "--threads")]
    public void Invalid_options_are_refused_by_name(int value, string option)
    {
        var options = new LlamaSharpBackendOptions { GgufPath = "m.gguf" };
        options = option == "--batch-size" ? options with { BatchSize = value } : options with { Threads = value };
        var error = Assert.Throws<SkimConfigException>(options.Validate);
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_quantisation_and_a_missing_model_are_refused()
    {
        Assert.Contains("--quant", Assert.Throws<SkimConfigException>(new LlamaSharpBackendOptions { ModelDirectory = "m", Quant = "q2" }.Validate).Message, StringComparison.Ordinal);
        Assert.Throws<SkimConfigException>(new LlamaSharpBackendOptions().Validate);
        Assert.Throws<SkimFormatException>(() => new LlamaSharpBackend(new LlamaSharpBackendOptions { GgufPath = models.File("missing.gguf") }));
    }
}
