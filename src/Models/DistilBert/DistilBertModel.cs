using Skim.Models.Encoders;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.DistilBert;

/// <summary>
/// Mirrors transformers' <c>DistilBertModel</c>: <c>embeddings</c> and <c>transformer.layer.N</c>.
/// Its state-dict keys equal those of a DistilBertModel or sentence-transformers checkpoint
/// (e.g. msmarco-distilbert-base-v4); <see cref="Weights.HfKeyMap"/> maps task checkpoints
/// (<c>distilbert.</c> prefix) and NGAME's state dicts onto them.
/// </summary>
public sealed class DistilBertModel : nn.Module<Tensor, Tensor, Tensor>, ITransformerEncoder
{
    [ComponentName(Name = "embeddings")]
    private readonly DistilBertEmbeddings _embeddings;

    [ComponentName(Name = "transformer")]
    private readonly DistilBertTransformer _transformer;

    /// <summary>Creates the model for <paramref name="config"/>.</summary>
    /// <param name="config">A validated config.</param>
    /// <param name="device">Where the weights live; the meta device builds shapes only.</param>
    /// <param name="dtype">The weights' dtype.</param>
    public DistilBertModel(DistilBertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(DistilBertModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        _embeddings = new DistilBertEmbeddings(config, device, dtype);
        _transformer = new DistilBertTransformer(config, device, dtype);
        RegisterComponents();
        Config = config;
    }

    /// <summary>Gets the config the model was built from.</summary>
    public DistilBertConfig Config { get; }

    /// <inheritdoc />
    public int HiddenSize => Config.Dim;

    /// <inheritdoc />
    public int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    public int MaxPositions => Config.MaxPositionEmbeddings;

    /// <summary>Computes the last hidden state.</summary>
    /// <param name="inputIds">(B, T) int64 token ids.</param>
    /// <param name="attentionMask">(B, T) 0/1 mask; 0 marks padding.</param>
    /// <returns>(B, T, dim) last hidden state.</returns>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var embedded = _embeddings.forward(inputIds); // (B, T, dim)
        using var bias = AttentionMask.ToAdditiveBias(attentionMask, embedded.dtype); // (B, 1, 1, T)
        return _transformer.forward(embedded, bias);
    }
}
