using Skim.Models.Devices;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.DistilBert;

/// <summary>Mirrors transformers' DistilBERT <c>Embeddings</c>: word + absolute position embeddings, LayerNorm, dropout (no token types).</summary>
public sealed class DistilBertEmbeddings : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "word_embeddings")]
    private readonly Embedding _wordEmbeddings;

    [ComponentName(Name = "position_embeddings")]
    private readonly Embedding _positionEmbeddings;

    [ComponentName(Name = "LayerNorm")]
    private readonly LayerNorm _layerNorm;

    [ComponentName(Name = "dropout")]
    private readonly Dropout _dropout;

    /// <summary>Creates the embeddings for <paramref name="config"/>.</summary>
    public DistilBertEmbeddings(DistilBertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(DistilBertEmbeddings))
    {
        ArgumentNullException.ThrowIfNull(config);
        _wordEmbeddings = nn.Embedding(config.VocabSize, config.Dim, padding_idx: config.PadTokenId, device: device, dtype: dtype);
        _positionEmbeddings = nn.Embedding(config.MaxPositionEmbeddings, config.Dim, device: device, dtype: dtype);
        _layerNorm = nn.LayerNorm(config.Dim, eps: DistilBertConfig.LayerNormEps, device: device, dtype: dtype);
        _dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    /// <summary>Embeds (B, T) int64 token ids at positions 0..T-1 into (B, T, dim).</summary>
    public override Tensor forward(Tensor inputIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        using var s = new HeldScalars(); // every forward pass: see HeldScalars
        using var positions = arange(s.Integer(0), s.Integer(inputIds.shape[1]), s.Integer(1), ScalarType.Int64, inputIds.device).unsqueeze(0); // (1, T)
        using var words = _wordEmbeddings.forward(inputIds); // (B, T, dim)
        using var placed = _positionEmbeddings.forward(positions); // (1, T, dim)
        using var sum = words.add(placed, s[1]);
        using var normed = _layerNorm.forward(sum);
        return _dropout.forward(normed);
    }
}
