using Skim.Models.Encoders;
using static TorchSharp.torch;

namespace Skim.XcTrain.Training;

/// <summary>
/// The label side of a training step: the shared encoder over the label texts' tokens, or a
/// learnable <see cref="LabelTable"/> when the dataset has no label texts. Steps, validation and
/// shortlist mining read labels only through here, so both kinds train with every model and sampler.
/// </summary>
internal sealed class LabelSide
{
    private readonly TextEncoder _encoder;
    private readonly TokenCache _tokens;

    public LabelSide(TextEncoder encoder, TokenCache tokens, LabelTable? table)
    {
        _encoder = encoder;
        _tokens = tokens;
        Table = table;
    }

    /// <summary>Gets the table, or null when labels are encoded from their texts.</summary>
    public LabelTable? Table { get; }

    /// <summary>Gets the (C, D) embeddings of <paramref name="labels"/> in training mode, with gradient.</summary>
    public Tensor Encode(IReadOnlyList<int> labels)
    {
        if (Table is not null)
        {
            return Table.Forward(labels); // (C, D)
        }
        var (ids, mask) = TokenBatches.Gather(_tokens.Labels, labels, _encoder.Device);
        return _encoder.Forward(ids, mask); // (C, D)
    }

    /// <summary>Gets every label's embedding in evaluation mode, row-major (labels × D).</summary>
    public float[] EmbedAll(int batchSize, CancellationToken ct = default) =>
        Table?.Embeddings() ?? TokenBatches.Embed(_encoder, _tokens.Labels, null, batchSize, ct);
}
