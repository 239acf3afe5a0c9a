using static TorchSharp.torch;

namespace Skim.Models.Generation;

/// <summary>
/// What one decoding step hands to the next: the input ids (B, T), the attention mask (B, S) over
/// everything seen so far, and which row (prompt) each batch position holds. The tensors are owned
/// here, outside every step's dispose scope, and replaced (the old ones disposed) as the batch advances.
/// </summary>
internal sealed class DecodingBatch : IDisposable
{
    private readonly Device _device;
    private Tensor _input;
    private Tensor _mask;
    private int[] _rowIndices;

    /// <summary>Left-pads <paramref name="prompts"/> with <paramref name="pad"/>; position j holds row j.</summary>
    public DecodingBatch(IReadOnlyList<IReadOnlyList<int>> prompts, int pad, Device device)
    {
        (_input, _mask) = LlamaGenerator.LeftPad(prompts, pad, device); // (B, L) each
        _device = device;
        PromptWidth = (int)_input.shape[1];
        _rowIndices = [.. Enumerable.Range(0, prompts.Count)];
    }

    /// <summary>Gets the ids the next forward pass reads: the padded prompts (B, L), then the last chosen tokens (B, 1).</summary>
    public Tensor Input => _input;

    /// <summary>Gets the attention mask (B, S): 0 on left padding, 1 on every prompt and generated position.</summary>
    public Tensor Mask => _mask;

    /// <summary>Gets the row (index into the prompts) each batch position holds; finished rows leave only in <see cref="Keep"/>.</summary>
    public IReadOnlyList<int> RowIndices => _rowIndices;

    /// <summary>Gets the padded prompt length, the width of the first input.</summary>
    public int PromptWidth { get; }

    /// <summary>Makes the chosen tokens (B) the next input and widens the mask by one real column.</summary>
    public void Append(Tensor chosen)
    {
        using var column = ones(_rowIndices.Length, 1, ScalarType.Int64, _device); // (B, 1)
        Replace(ref _mask, cat([_mask, column], 1)); // (B, S + 1)
        Replace(ref _input, chosen.unsqueeze(1)); // (B, 1)
    }

    /// <summary>Keeps only the batch positions in <paramref name="positions"/> (in order), in the inputs, the mask and <paramref name="cache"/>.</summary>
    public void Keep(IReadOnlyList<int> positions, KvCache cache)
    {
        using var rows = tensor(positions.Select(j => (long)j).ToArray(), device: _device); // (B')
        cache.SelectRows(rows);
        Replace(ref _mask, _mask.index_select(0, rows)); // (B', S)
        Replace(ref _input, _input.index_select(0, rows)); // (B', 1)
        _rowIndices = [.. positions.Select(j => _rowIndices[j])];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _input.Dispose();
        _mask.Dispose();
    }

    // The new tensor is made inside a step's dispose scope but must outlive it.
    private static void Replace(ref Tensor field, Tensor value)
    {
        var kept = value.DetachFromDisposeScope();
        field.Dispose();
        field = kept;
    }
}
