using Skim.Models.Generation;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Llama;

/// <summary>
/// Mirrors transformers' <c>LlamaModel</c>: token embeddings, the decoder layers and the final
/// RMSNorm. Weights <c>embed_tokens</c>, <c>layers.N</c>, <c>norm</c>.
/// </summary>
public sealed class LlamaModel : nn.Module
{
    private readonly LlamaConfig _config;

    [ComponentName(Name = "embed_tokens")]
    private readonly Embedding _embedTokens;

    [ComponentName(Name = "layers")]
    private readonly ModuleList<LlamaDecoderLayer> _layers;

    [ComponentName(Name = "norm")]
    private readonly LlamaRmsNorm _norm;

    private readonly LlamaRotaryEmbedding _rotary;

    /// <summary>Builds the model with freshly initialised weights on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    public LlamaModel(LlamaConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(LlamaModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        _embedTokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        _layers = new ModuleList<LlamaDecoderLayer>(
            [.. Enumerable.Range(0, config.NumHiddenLayers).Select(i => new LlamaDecoderLayer(config, i, device, dtype))]);
        _norm = new LlamaRmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
        _rotary = new LlamaRotaryEmbedding(config.HeadDim, config.RopeTheta);
    }

    /// <summary>Gets the config the model was built from.</summary>
    public LlamaConfig Config => _config;

    /// <summary>Gets the token embedding table (vocab, H); the LM head reuses it when embeddings are tied.</summary>
    public Embedding EmbedTokens => _embedTokens;

    internal ModuleList<LlamaDecoderLayer> Layers => _layers;

    /// <summary>
    /// Runs the decoder on <paramref name="inputIds"/> (B, T) and returns the final hidden states (B, T, H).
    /// </summary>
    /// <param name="inputIds">Token ids (B, T), int64.</param>
    /// <param name="attentionMask">
    /// 1 for real tokens and 0 for padding, (B, past + T), covering the cached positions too; null
    /// when nothing is padded. Left padding is the supported layout for generation.
    /// </param>
    /// <param name="cache">Keys and values of earlier positions; appended to. Null for a single full pass.</param>
    /// <param name="positionIds">Rotary positions (B, T); null derives them from the mask (cumsum − 1), so a left-padded row gets the positions of the unpadded sequence.</param>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, KvCache? cache = null, Tensor? positionIds = null)
    {
        var batch = inputIds.shape[0];
        var time = inputIds.shape[1];
        var past = cache?.Length ?? 0;
        var total = past + time;
        if (_config.EnforcedWindow is { } window && total > window)
        {
            throw new NotSupportedException($"sequence of {total} positions exceeds sliding_window {window}; sliding-window attention is not implemented");
        }
        if (attentionMask is not null && (attentionMask.shape[0] != batch || attentionMask.shape[1] != total))
        {
            throw new ArgumentException($"attention mask has shape [{string.Join(", ", attentionMask.shape)}], expected [{batch}, {total}] (past {past} + new {time})", nameof(attentionMask));
        }

        // Frees the chained intermediates of the masks and rotary tables when the pass returns.
        using var scope = NewDisposeScope();
        using var positions = positionIds?.alias() ?? AttentionMasks.PositionIds(attentionMask, batch, past, time, inputIds.device); // (B, T)
        using var mask = AttentionMasks.CausalPadding(attentionMask, batch, past, time, inputIds.device); // (B, 1, T, S) or null
        var hidden = _embedTokens.forward(inputIds); // (B, T, H)
        var (cos, signedSin) = _rotary.Tables(positions, hidden.dtype); // (B, 1, T, hs) each
        using (cos)
        using (signedSin)
        {
            foreach (var layer in _layers)
            {
                var next = layer.forward(hidden, cos, signedSin, mask, cache); // (B, T, H)
                hidden.Dispose();
                hidden = next;
            }
        }
        cache?.Advance((int)time);
        using (hidden)
        {
            return _norm.forward(hidden).MoveToOuterDisposeScope(); // (B, T, H)
        }
    }
}
