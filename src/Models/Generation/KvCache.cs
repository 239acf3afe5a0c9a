using static TorchSharp.torch;

namespace Skim.Models.Generation;

/// <summary>
/// Keys and values of every decoder layer for the tokens seen so far, so that each decoding step
/// runs attention for the new tokens only. Buffers are preallocated (B, kv_heads, capacity, head_dim)
/// per layer and grow by doubling, so a step writes in place instead of concatenating. The cache owns
/// its tensors (they outlive per-step dispose scopes) and frees them on <see cref="Dispose"/>.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;
    private int _capacity;
    private bool _disposed;

    /// <summary>Creates an empty cache for <paramref name="layers"/> layers with room for <paramref name="capacity"/> positions before it grows.</summary>
    public KvCache(int layers, int capacity = 256)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
        _capacity = capacity;
    }

    /// <summary>Gets the number of positions stored (the past length seen by the next forward pass).</summary>
    public int Length { get; private set; }

    /// <summary>Gets the number of positions the buffers hold before they grow.</summary>
    public int Capacity => _capacity;

    /// <summary>Gets the number of layers.</summary>
    public int Layers => _keys.Length;

    /// <summary>
    /// Writes the new keys and values of <paramref name="layer"/> (B, kv_heads, T, head_dim) after the
    /// stored ones and returns views of all of them (B, kv_heads, Length + T, head_dim). The length
    /// advances only in <see cref="Advance"/>, once every layer has appended.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var newLength = Length + (int)keys.shape[2];
        if (_keys[layer] is { } stored && stored.shape[0] != keys.shape[0])
        {
            throw new InvalidOperationException($"KV cache holds batch {stored.shape[0]}, the forward pass has batch {keys.shape[0]}");
        }
        var held = _keys[layer]?.shape[2] ?? 0;
        if (held < newLength)
        {
            // Doubling keeps the number of copies logarithmic in the generated length.
            var capacity = held == 0 ? Math.Max(_capacity, newLength) : Math.Max(newLength, 2 * (int)held);
            _capacity = Math.Max(_capacity, capacity);
            _keys[layer] = Grow(_keys[layer], keys, capacity);
            _values[layer] = Grow(_values[layer], values, capacity);
        }
        var k = _keys[layer]!;
        var v = _values[layer]!;
        using (var target = k.narrow(2, Length, keys.shape[2]))
        {
            target.copy_(keys);
        }
        using (var target = v.narrow(2, Length, values.shape[2]))
        {
            target.copy_(values);
        }
        return (k.narrow(2, 0, newLength), v.narrow(2, 0, newLength)); // (B, kv_heads, S, d)
    }

    /// <summary>
    /// Copies every layer of a one-row cache into row <paramref name="row"/> of this cache of
    /// <paramref name="batch"/> rows, its positions ending at <paramref name="end"/> (the left-padded
    /// prompt width): the padding before them stays zero and is hidden by the attention mask. Call
    /// <see cref="Advance"/> with <paramref name="end"/> once every row is written.
    /// </summary>
    /// <exception cref="InvalidOperationException">This cache already holds positions, or the source does not fit.</exception>
    public void WriteRow(int row, int batch, KvCache source, int end)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(source);
        if (Length != 0 || source.Length > end || source.Layers != Layers)
        {
            throw new InvalidOperationException($"a row of {source.Length} positions in {source.Layers} layers cannot start an empty {Layers}-layer cache at width {end} (it holds {Length})");
        }
        for (var layer = 0; layer < _keys.Length; layer++)
        {
            _keys[layer] = CopyRow(_keys[layer], source._keys[layer]!, row, batch, source.Length, end);
            _values[layer] = CopyRow(_values[layer], source._values[layer]!, row, batch, source.Length, end);
        }
    }

    /// <summary>Records that <paramref name="tokens"/> new positions were appended to every layer.</summary>
    public void Advance(int tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Length += tokens;
    }

    /// <summary>
    /// Keeps only the batch rows in <paramref name="rows"/> (in that order), so that finished
    /// sequences stop costing compute in later steps.
    /// </summary>
    public void SelectRows(Tensor rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i] = Replace(_keys[i], t => t.index_select(0, rows));
            _values[i] = Replace(_values[i], t => t.index_select(0, rows));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i]?.Dispose();
            _values[i]?.Dispose();
            _keys[i] = null;
            _values[i] = null;
        }
    }

    private Tensor Grow(Tensor? old, Tensor like, int capacity)
    {
        // Allocated outside any step's dispose scope: the buffers must survive until the cache is disposed.
        var buffer = zeros([like.shape[0], like.shape[1], capacity, like.shape[3]], like.dtype, like.device).DetachFromDisposeScope();
        if (old is not null)
        {
            using (var target = buffer.narrow(2, 0, Length))
            using (var source = old.narrow(2, 0, Length))
            {
                target.copy_(source);
            }
            old.Dispose();
        }
        return buffer;
    }

    private Tensor CopyRow(Tensor? buffer, Tensor source, int row, int batch, int length, int end)
    {
        if (buffer is null)
        {
            _capacity = Math.Max(_capacity, end);
            // Allocated outside any step's dispose scope, as in Grow.
            buffer = zeros([batch, source.shape[1], _capacity, source.shape[3]], source.dtype, source.device).DetachFromDisposeScope(); // (B, kv_heads, capacity, d)
        }
        using var target = buffer.narrow(0, row, 1).narrow(2, end - length, length); // (1, kv_heads, L, d)
        using var stored = source.narrow(2, 0, length); // (1, kv_heads, L, d)
        target.copy_(stored);
        return buffer;
    }

    private static Tensor? Replace(Tensor? old, Func<Tensor, Tensor> select)
    {
        if (old is null)
        {
            return null;
        }
        var selected = select(old).DetachFromDisposeScope();
        old.Dispose();
        return selected;
    }
}
