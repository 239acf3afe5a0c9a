using Skim.Models.Devices;
using static TorchSharp.torch;

namespace Skim.Models.Generation;

/// <summary>
/// Picks the next token from logits: greedy (temperature 0), or sampling with temperature, top-k and
/// top-p (nucleus) filtering, HF's order of warpers. Draws come from a private generator seeded once,
/// so a run is reproducible whatever else uses the global generator.
/// </summary>
public sealed class TokenSampler : IDisposable
{
    private readonly GenerationOptions _options;
    private readonly Generator? _generator;

    /// <summary>Creates a sampler on <paramref name="device"/> seeded with <see cref="GenerationOptions.Seed"/>.</summary>
    public TokenSampler(GenerationOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _generator = options.IsGreedy ? null : new Generator(unchecked((ulong)options.Seed), device ?? CPU);
    }

    /// <summary>Returns the chosen ids (B), int64, for float logits (B, vocab).</summary>
    public Tensor Sample(Tensor logits)
    {
        using var scores = logits.to_type(ScalarType.Float32); // (B, V)
        if (_options.IsGreedy)
        {
            return scores.argmax(-1); // (B)
        }
        using var s = new HeldScalars(); // every decoding step: see HeldScalars
        if (_options.TopK > 0 && _options.TopK < scores.shape[^1])
        {
            return SampleWithinTopK(scores, s);
        }
        using var scaled = scores.div(s[_options.Temperature]); // (B, V)
        using var topP = FilterTopP(scaled, s);
        using var probabilities = nn.functional.softmax(topP, -1); // (B, V)
        using var drawn = probabilities.multinomial(1, replacement: false, generator: _generator); // (B, 1)
        return drawn.squeeze(-1); // (B)
    }

    /// <inheritdoc />
    public void Dispose() => _generator?.Dispose();

    /// <summary>
    /// Samples among the k best tokens only. The distribution is the one HF's top-k then top-p warpers
    /// give (tokens outside the k have probability 0 there), but softmax, the nucleus cut and the draw
    /// run over (B, k) instead of the whole vocabulary: with k = 200 of 49,152 tokens that removed a
    /// quarter of a decoding step's time.
    /// The temperature divides the k kept scores only: a positive scale does not change which k are best.
    /// </summary>
    private Tensor SampleWithinTopK(Tensor scores, HeldScalars s)
    {
        var (values, indices) = scores.topk(_options.TopK, -1); // (B, k), sorted descending
        using (values)
        using (indices)
        using (var scaled = values.div(s[_options.Temperature])) // (B, k)
        using (var kept = FilterSortedTopP(scaled, s)) // (B, k)
        using (var probabilities = nn.functional.softmax(kept, -1)) // (B, k)
        using (var drawn = probabilities.multinomial(1, replacement: false, generator: _generator)) // (B, 1)
        using (var chosen = indices.gather(-1, drawn)) // (B, 1)
        {
            return chosen.squeeze(-1); // (B)
        }
    }

    /// <summary>Top-p over scores already sorted in descending order along the last dimension.</summary>
    private Tensor FilterSortedTopP(Tensor sorted, HeldScalars s)
    {
        if (_options.TopP >= 1)
        {
            return sorted.alias();
        }
        using var probabilities = nn.functional.softmax(sorted, -1);
        using var cumulative = probabilities.cumsum(-1);
        using var before = cumulative - probabilities; // mass of strictly more likely tokens
        using var drop = before.ge(s[_options.TopP]);
        return sorted.masked_fill(drop, s[float.NegativeInfinity]);
    }

    private Tensor FilterTopP(Tensor scores, HeldScalars s)
    {
        if (_options.TopP >= 1)
        {
            return scores.alias();
        }
        // Keep the smallest prefix of tokens sorted by probability whose mass reaches top_p; the most
        // likely token always stays.
        var (sorted, order) = scores.sort(-1, descending: true); // (B, V)
        using (sorted)
        using (order)
        using (var probabilities = nn.functional.softmax(sorted, -1))
        using (var cumulative = probabilities.cumsum(-1))
        using (var before = cumulative - probabilities) // mass of strictly more likely tokens
        using (var dropSorted = before.ge(s[_options.TopP]))
        using (var drop = zeros_like(dropSorted).scatter_(-1, order, dropSorted)) // back to vocabulary order
        {
            return scores.masked_fill(drop, s[float.NegativeInfinity]);
        }
    }
}
