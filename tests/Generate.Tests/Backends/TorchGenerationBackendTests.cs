using System.Runtime.InteropServices;
using Skim.Core;
using Skim.Generate.Backends;
using Skim.Generate.Tests.Runs;
using Skim.Generate.Tests.Step1;
using Skim.Models.Generation;

namespace Skim.Generate.Tests.Backends;

[Collection(GenerateLibTorchCollection.Name)]
public sealed class TorchGenerationBackendTests(Step1Fixture fixture) : IClassFixture<Step1Fixture>
{
    [Fact]
    public void A_batch_that_runs_out_of_memory_is_halved_and_retried_and_results_keep_their_order()
    {
        // Given pieces of 8 where anything above 2 items runs out of memory the way libtorch reports it
        var batching = new AdaptiveBatching(8);
        var sizes = new List<int>();
        IReadOnlyList<int> Run(IReadOnlyList<int> piece)
        {
            sizes.Add(piece.Count);
            if (piece.Count > 2)
            {
                throw new NativeTorchError("CUDA out of memory. Tried to allocate 2.00 GiB");
            }
            return [.. piece.Select(i => i * 10)];
        }

        // When 8 items run, then 3 more with the limit it settled on
        var first = batching.Run(Enumerable.Range(0, 8).ToList(), Run, CancellationToken.None);
        var second = batching.Run(Enumerable.Range(8, 3).ToList(), Run, CancellationToken.None);

        // Then the limit went 8 -> 4 -> 2 once, later pieces start at 2, and every result is there in order
        Assert.Equal([8, 4, 2, 2, 2, 2, 2, 1], sizes);
        Assert.Equal(2, batching.Limit);
        Assert.Equal(2, batching.Halvings);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => i * 10), first);
        Assert.Equal(Enumerable.Range(8, 3).Select(i => i * 10), second);
    }

    [Fact]
    public void A_single_prompt_out_of_memory_is_one_clear_error_and_other_errors_are_not_retried()
    {
        // Given a run that never fits, and one that fails for another reason
        var batching = new AdaptiveBatching(2);
        var calls = 0;

        // When each runs
        var oom = Assert.Throws<SkimException>(() => batching.Run<int, int>([1, 2], _ => throw new InsufficientMemoryException(), CancellationToken.None));
        var other = Assert.Throws<InvalidOperationException>(() => batching.Run<int, int>([1, 2], _ =>
        {
            calls++;
            throw new InvalidOperationException("shape mismatch");
        }, CancellationToken.None));

        // Then the first says a single prompt does not fit, and the second surfaces after one call
        Assert.StartsWith("out of memory generating for a single prompt", oom.Message, StringComparison.Ordinal);
        Assert.Equal("shape mismatch", other.Message);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Bfloat16_weights_continue_every_request_in_order_with_its_item()
    {
        // Given the tiny model loaded in bfloat16 with greedy decoding
        using var backend = new TorchGenerationBackend(fixture.ModelDirectory, new GenerationOptions { MaxNewTokens = 6, Temperature = 0, BatchSize = 2 }, "cpu", "bfloat16");
        BackendRequest[] requests = [new(5, "ALTER TABLE", 1), new(9, "abort the current transaction", 2), new(2, "list", 3)];

        // When three requests are continued
        var outputs = await backend.GenerateAsync(requests, CancellationToken.None);

        // Then the outputs follow the requests, with token counts and finish reasons, and the description says bfloat16
        Assert.Equal([5L, 9L, 2L], outputs.Select(o => o.Item));
        Assert.All(outputs, o => Assert.InRange(o.GeneratedTokens, 1, 6));
        Assert.All(outputs, o => Assert.True(o.PromptTokens > 0));
        Assert.All(outputs, o => Assert.True(o.FinishReason is "stop" or "length", o.FinishReason));
        Assert.Contains("bfloat16 on cpu", backend.Description, StringComparison.Ordinal);
    }

    // What TorchSharp throws for a libtorch error is an ExternalException carrying libtorch's message.
    private sealed class NativeTorchError(string message) : ExternalException(message);
}
