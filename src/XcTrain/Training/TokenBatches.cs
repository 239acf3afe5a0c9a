using Skim.Models.Encoders;
using Skim.Models.Tokenization;
using static TorchSharp.torch;

namespace Skim.XcTrain.Training;

/// <summary>
/// Turns rows of a token cache into model inputs: the chosen rows stacked and cut to the longest
/// real length among them (NGAME's <c>collate</c>: padding columns that no row uses cost compute
/// and change nothing), and whole-cache embedding in evaluation mode.
/// </summary>
public static class TokenBatches
{
    /// <summary>Stacks <paramref name="rows"/> of <paramref name="tokens"/> into (ids, mask), each (B, T') int64 on <paramref name="device"/>.</summary>
    public static (Tensor Ids, Tensor Mask) Gather(EncodedBatch tokens, IReadOnlyList<int> rows, Device device)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(rows);
        var width = 1;
        foreach (var row in rows)
        {
            var mask = tokens.MaskOf(row);
            var length = mask.LastIndexOfAnyExcept(0L) + 1;
            width = Math.Max(width, length);
        }
        var ids = new long[rows.Count * width];
        var masks = new long[rows.Count * width];
        for (var i = 0; i < rows.Count; i++)
        {
            tokens.IdsOf(rows[i])[..width].CopyTo(ids.AsSpan(i * width, width));
            tokens.MaskOf(rows[i])[..width].CopyTo(masks.AsSpan(i * width, width));
        }
        return (tensor(ids, [rows.Count, width], device: device), tensor(masks, [rows.Count, width], device: device)); // (B, T') each
    }

    /// <summary>
    /// Embeds <paramref name="rows"/> of <paramref name="tokens"/> (all rows when null) with the
    /// encoder in evaluation mode and without autograd, <paramref name="batchSize"/> rows at a time,
    /// and returns them row-major (rows × D) in float32. The encoder's train/eval mode is restored.
    /// </summary>
    public static float[] Embed(TextEncoder encoder, EncodedBatch tokens, IReadOnlyList<int>? rows, int batchSize, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(tokens);
        rows ??= Enumerable.Range(0, tokens.Rows).ToArray();
        var dimension = encoder.Dimension;
        var output = new float[(long)rows.Count * dimension];
        var wasTraining = encoder.Transformer.training;
        encoder.SetTraining(false);
        try
        {
            using var noGrad = no_grad();
            for (var start = 0; start < rows.Count; start += batchSize)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var chunk = rows.Skip(start).Take(batchSize).ToArray();
                var (ids, mask) = Gather(tokens, chunk, encoder.Device);
                var embeddings = encoder.Forward(ids, mask).cpu(); // (B, D)
                Array.Copy(embeddings.data<float>().ToArray(), 0, output, start * (long)dimension, (long)chunk.Length * dimension);
            }
        }
        finally
        {
            encoder.SetTraining(wasTraining);
        }
        return output;
    }
}
