using Skim.Models.Devices;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Skim.Models.Bert;

/// <summary>Mirrors transformers' <c>BertEmbeddings</c>: word + absolute position + token type embeddings, then LayerNorm and dropout.</summary>
public sealed class BertEmbeddings : nn.Module<Tensor, Tensor?, Tensor>
{
    [ComponentName(Name = "word_embeddings")]
    private readonly Embedding _wordEmbeddings;

    [ComponentName(Name = "position_embeddings")]
    private readonly Embedding _positionEmbeddings;

    [ComponentName(Name = "token_type_embeddings")]
    private readonly Embedding _tokenTypeEmbeddings;

    [ComponentName(Name = "LayerNorm")]
    private readonly LayerNorm _layerNorm;

    [ComponentName(Name = "dropout")]
    private readonly Dropout _dropout;

    /// <summary>Creates the embeddings for <paramref name="config"/> on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    public BertEmbeddings(BertConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(BertEmbeddings))
    {
        ArgumentNullException.ThrowIfNull(config);
        _wordEmbeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId, device: device, dtype: dtype);
        _positionEmbeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize, device: device, dtype: dtype);
        _tokenTypeEmbeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize, device: device, dtype: dtype);
        _layerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps, device: device, dtype: dtype);
        _dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>Embeds token ids; token types default to 0 (a single segment), positions are 0..T-1.</summary>
    /// <param name="inputIds">(B, T) int64 token ids.</param>
    /// <param name="tokenTypeIds">(B, T) int64 segment ids, or null for all zeros.</param>
    /// <returns>(B, T, H) embeddings.</returns>
    public override Tensor forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        var length = inputIds.shape[1];
        using var s = new HeldScalars(); // every forward pass: see HeldScalars
        using var positions = arange(s.Integer(0), s.Integer(length), s.Integer(1), ScalarType.Int64, inputIds.device).unsqueeze(0); // (1, T)
        using var words = _wordEmbeddings.forward(inputIds); // (B, T, H)
        using var placed = _positionEmbeddings.forward(positions); // (1, T, H)
        using var types = tokenTypeIds is null
            ? zeros_like(inputIds)
            : tokenTypeIds.alias();
        using var typed = _tokenTypeEmbeddings.forward(types); // (B, T, H)
        using var sum = words.add(typed, s[1]);
        sum.add_(placed, s[1]);
        using var normed = _layerNorm.forward(sum);
        return _dropout.forward(normed);
    }
}
