using static TorchSharp.torch;

namespace Skim.Models.ModelFactory;

/// <summary>
/// Hugging Face's <c>_init_weights</c> for the BERT and Llama families, applied by parameter name:
/// normal(0, initializer_range) for linear and embedding weights, zero biases, unit norm weights,
/// and a zero row for the padding token of the word embeddings.
/// </summary>
public static class HfInitialization
{
    /// <summary>Re-draws every parameter of <paramref name="module"/> from a generator seeded with <paramref name="seed"/>.</summary>
    /// <param name="module">The model; parameters named <c>…norm.weight</c> (any case) are norms, <c>….bias</c> biases.</param>
    /// <param name="std">The standard deviation (the config's initializer_range; 0.02 in all HF presets used here).</param>
    /// <param name="seed">The seed; the same seed and module give the same weights.</param>
    /// <param name="embeddingKey">The state-dict key of the word embeddings whose padding row is zeroed, or null.</param>
    /// <param name="paddingId">The padding token id, or null for no zero row.</param>
    public static void Apply(nn.Module module, double std, long seed, string? embeddingKey, int? paddingId)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var generator = new Generator(unchecked((ulong)seed));
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.OrdinalIgnoreCase))
            {
                parameter.fill_(1);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                parameter.zero_();
            }
            else
            {
                parameter.normal_(0, std, generator);
            }
            if (name == embeddingKey && paddingId is { } pad && pad >= 0 && pad < parameter.shape[0])
            {
                // HF builds the embedding with padding_idx and zeroes that row after drawing it.
                parameter[pad].zero_();
            }
        }
    }
}
