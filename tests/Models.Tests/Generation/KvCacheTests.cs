using Skim.Models.Llama;
using Skim.Models.Tests.Llama;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Generation;

/// <summary>The acceptance tests of the decoder: the cache and left padding must not change any logit.</summary>
[Collection(LibTorchCollection.Name)]
public sealed class KvCacheTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string> Architectures => ["llama", "qwen2", "tied"];

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Cached_incremental_decoding_gives_the_logits_of_a_full_forward_pass(string architecture)
    {
        // Given a tiny model and a 9-token sequence
        using var model = LlamaFixtures.Create(Config(architecture));
        long[] ids = [1, 17, 33, 5, 90, 2, 64, 127, 8];
        var full = LlamaFixtures.Logits(model, ids, 1); // (1, 9, V)

        // When a 4-token prompt is run through the cache, then two steps of 1 and one chunk of 3 tokens
        var incremental = new List<float>();
        using var cache = model.CreateCache(capacity: 5); // forces the buffers to grow
        using var noGrad = no_grad();
        foreach (var (start, length) in new[] { (0, 4), (4, 1), (5, 1), (6, 3) })
        {
            using var scope = NewDisposeScope();
            var logits = model.forward(tensor(ids[start..(start + length)], [1, length]), cache: cache);
            incremental.AddRange(logits.data<float>().ToArray());
        }

        // Then every position's logits equal the full pass's, and the cache holds all 9 positions
        Assert.Equal(9, cache.Length);
        LlamaFixtures.AssertClose(full, incremental.ToArray(), Tolerance, "cached vs full");
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Left_padding_does_not_change_a_sequences_logits(string architecture)
    {
        // Given a 3-token and a 6-token sequence, the short one left-padded with an arbitrary id
        using var model = LlamaFixtures.Create(Config(architecture));
        long[] shortIds = [4, 8, 15];
        long[] longIds = [16, 23, 42, 7, 9, 11];
        var alone = LlamaFixtures.Logits(model, shortIds, 1); // (1, 3, V)
        var longAlone = LlamaFixtures.Logits(model, longIds, 1); // (1, 6, V)

        // When both run in one batch with an attention mask
        long[] batch = [99, 99, 99, .. shortIds, .. longIds];
        long[] mask = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1];
        var padded = LlamaFixtures.Logits(model, batch, 2, mask); // (2, 6, V)

        // Then the short sequence's real positions and the whole long sequence match running them alone
        const int V = 128;
        LlamaFixtures.AssertClose(alone, padded.AsSpan(3 * V, 3 * V), Tolerance, "left-padded row");
        LlamaFixtures.AssertClose(longAlone, padded.AsSpan(6 * V, 6 * V), Tolerance, "unpadded row");
    }

    [Fact]
    public void Left_padded_cached_decoding_matches_each_sequence_decoded_alone()
    {
        // Given a padded batch of two prompts and two further tokens for each
        using var model = LlamaFixtures.Create(LlamaFixtures.TinyQwen2);
        long[] a = [4, 8, 15, 16, 23];
        long[] b = [42, 99];
        long[] nextA = [77, 78];
        long[] nextB = [5, 6];
        var expectedA = LlamaFixtures.Logits(model, [.. a, .. nextA], 1);
        var expectedB = LlamaFixtures.Logits(model, [.. b, .. nextB], 1);

        // When the batch is prefilled left-padded and then decoded one token at a time with a growing mask
        using var cache = model.CreateCache();
        using var noGrad = no_grad();
        var mask = new List<long> { 1, 1, 1, 1, 1, 0, 0, 0, 1, 1 };
        var stepLogits = new List<float[]>();
        using (var scope = NewDisposeScope())
        {
            var logits = model.forward(tensor([.. a, 0, 0, 0, .. b], [2, 5]), tensor(mask.ToArray(), [2, 5]), cache, lastPositionOnly: true);
            stepLogits.Add(logits.data<float>().ToArray());
        }
        for (var step = 0; step < 2; step++)
        {
            using var scope = NewDisposeScope();
            var width = 6 + step;
            long[] grown = [.. mask.Take(width - 1), 1, .. mask.Skip(width - 1), 1];
            mask = [.. grown];
            var logits = model.forward(tensor(new[] { nextA[step], nextB[step] }, [2, 1]), tensor(mask.ToArray(), [2, width]), cache);
            stepLogits.Add(logits.data<float>().ToArray());
        }

        // Then at each step both rows' logits equal the unbatched, unpadded ones
        const int V = 128;
        for (var step = 0; step < 3; step++)
        {
            LlamaFixtures.AssertClose(expectedA.AsSpan((4 + step) * V, V), stepLogits[step].AsSpan(0, V), Tolerance, $"row a, step {step}");
            LlamaFixtures.AssertClose(expectedB.AsSpan((1 + step) * V, V), stepLogits[step].AsSpan(V, V), Tolerance, $"row b, step {step}");
        }
    }

    internal static LlamaConfig Config(string architecture) => architecture switch
    {
        "qwen2" => LlamaFixtures.TinyQwen2,
        "tied" => LlamaFixtures.TinyTied,
        _ => LlamaConfig.Tiny,
    };
}
