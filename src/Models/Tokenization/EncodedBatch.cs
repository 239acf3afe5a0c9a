namespace Skim.Models.Tokenization;

/// <summary>
/// A batch of tokenized texts as dense row-major (Rows, Width) int64 arrays, the layout NGAME's
/// <c>*_input_ids.npy</c>/<c>*_attention_mask.npy</c> and the models' input tensors use.
/// </summary>
public sealed class EncodedBatch
{
    /// <summary>Creates a batch from row-major arrays of <paramref name="rows"/> × <paramref name="width"/> values.</summary>
    public EncodedBatch(long[] inputIds, long[] attentionMask, int rows, int width)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        if (inputIds.LongLength != (long)rows * width || attentionMask.LongLength != (long)rows * width)
        {
            throw new ArgumentException($"arrays must hold {rows} x {width} values");
        }
        InputIds = inputIds;
        AttentionMask = attentionMask;
        Rows = rows;
        Width = width;
    }

    /// <summary>Gets the ids, row-major (Rows, Width).</summary>
    public long[] InputIds { get; }

    /// <summary>Gets the attention mask (1 for a token, 0 for padding), row-major (Rows, Width).</summary>
    public long[] AttentionMask { get; }

    /// <summary>Gets the number of texts.</summary>
    public int Rows { get; }

    /// <summary>Gets the row width.</summary>
    public int Width { get; }

    /// <summary>Gets row <paramref name="row"/> of the ids.</summary>
    public ReadOnlySpan<long> IdsOf(int row) => InputIds.AsSpan(row * Width, Width);

    /// <summary>Gets row <paramref name="row"/> of the attention mask.</summary>
    public ReadOnlySpan<long> MaskOf(int row) => AttentionMask.AsSpan(row * Width, Width);
}
