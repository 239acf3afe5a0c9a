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
        using var scaled = scores / _options.Temperature; // (B, V)
        using var topK = FilterTopK(scaled);
        using var topP = FilterTopP(topK);
        using var probabilities = nn.functional.softmax(topP, -1); // (B, V)
        using var drawn = probabilities.multinomial(1, replacement: false, generator: _generator); // (B, 1)
        return drawn.squeeze(-1); // (B)
    }

    /// <inheritdoc />
    public void Dispose() => _generator?.Dispose();

    private Tensor FilterTopK(Tensor scores)
    {
        var vocabulary = scores.shape[^1];
        if (_options.TopK <= 0 || _options.TopK >= vocabulary)
        {
            return scores.alias();
        }
        var (values, indices) = scores.topk(_options.TopK, -1); // (B, k)
        using (values)
        using (indices)
        using (var threshold = values.narrow(-1, _options.TopK - 1, 1)) // (B, 1)
        using (var below = scores.lt(threshold))
        {
            return scores.masked_fill(below, float.NegativeInfinity);
        }
    }

    private Tensor FilterTopP(Tensor scores)
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
        using (var dropSorted = before.ge(_options.TopP))
        using (var drop = zeros_like(dropSorted).scatter_(-1, order, dropSorted)) // back to vocabulary order
        {
            return scores.masked_fill(drop, float.NegativeInfinity);
        }
    }
}
