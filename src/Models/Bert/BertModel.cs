using Skim.Models.Encoders;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>
/// Mirrors transformers' <c>BertModel</c>: <c>embeddings</c>, <c>encoder.layer.N</c> and, when
/// <c>addPoolingLayer</c> is set, <c>pooler</c>. Its state-dict keys equal those of a BertModel
/// checkpoint; <see cref="Weights.HfKeyMap"/> maps task checkpoints (<c>bert.</c> prefix, gamma/beta).
/// </summary>
public sealed class BertModel : nn.Module<Tensor, Tensor, Tensor>, ITransformerEncoder
{
    [ComponentName(Name = "embeddings")]
    private readonly BertEmbeddings _embeddings;

    [ComponentName(Name = "encoder")]
    private readonly BertEncoder _encoder;

    [ComponentName(Name = "pooler")]
    private readonly BertPooler? _pooler;

    /// <summary>Creates the model for <paramref name="config"/> with HF's default initialisation of TorchSharp layers.</summary>
    /// <param name="config">A validated config.</param>
    /// <param name="addPoolingLayer">Whether to include <c>pooler.dense</c> (HF's <c>add_pooling_layer</c>).</param>
    /// <param name="device">Where the weights live; the meta device builds shapes only.</param>
    /// <param name="dtype">The weights' dtype.</param>
    public BertModel(BertConfig config, bool addPoolingLayer = true, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        _embeddings = new BertEmbeddings(config, device, dtype);
        _encoder = new BertEncoder(config, device, dtype);
        _pooler = addPoolingLayer ? new BertPooler(config, device, dtype) : null;
        RegisterComponents();
        Config = config;
    }

    /// <summary>Gets the config the model was built from.</summary>
    public BertConfig Config { get; }

    /// <inheritdoc />
    public int HiddenSize => Config.HiddenSize;

    /// <inheritdoc />
    public int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    public int MaxPositions => Config.MaxPositionEmbeddings;

    /// <summary>Computes the last hidden state.</summary>
    /// <param name="inputIds">(B, T) int64 token ids.</param>
    /// <param name="attentionMask">(B, T) 0/1 mask; 0 marks padding.</param>
    /// <returns>(B, T, H) last hidden state.</returns>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var embedded = _embeddings.forward(inputIds, null); // (B, T, H)
        using var bias = AttentionMask.ToAdditiveBias(attentionMask, embedded.dtype); // (B, 1, 1, T)
        return _encoder.forward(embedded, bias);
    }

    /// <summary>Computes HF's <c>pooler_output</c> from a last hidden state (B, T, H); needs the pooling layer.</summary>
    public Tensor Pool(Tensor lastHiddenState) =>
        (_pooler ?? throw new InvalidOperationException("this BertModel was built without its pooling layer")).forward(lastHiddenState);
}
