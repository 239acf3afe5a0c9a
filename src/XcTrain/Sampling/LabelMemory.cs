using static TorchSharp.torch;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// A bounded first-in-first-out memory of label ids and, optionally, their float32 embeddings:
/// a ring of <c>capacity</c> rows on the device of the embeddings it was last given (or asked for).
/// </summary>
internal sealed class LabelMemory : IDisposable
{
    private readonly int _capacity;
    private readonly bool _keepEmbeddings;
    private readonly int[] _ids;
    private Tensor? _bank; // (capacity, D) float32
    private int _count;
    private int _head; // next slot to write

    public LabelMemory(int capacity, bool keepEmbeddings)
    {
        _capacity = capacity;
        _keepEmbeddings = keepEmbeddings;
        _ids = new int[capacity];
    }

    public int Count => _count;

    /// <summary>Gets the remembered ids, oldest first (duplicates kept: the memory is a plain queue).</summary>
    public int[] IdsOldestFirst()
    {
        var ids = new int[_count];
        for (var k = 0; k < _count; k++)
        {
            ids[k] = _ids[Slot(k)];
        }
        return ids;
    }

    /// <summary>Appends rows (or only ids when embeddings are not kept); the oldest fall out past the capacity.</summary>
    public void Enqueue(Tensor? embeddings, IReadOnlyList<int> ids)
    {
        var rows = ids.Count;
        var keep = Math.Min(rows, _capacity);
        var skip = rows - keep;
        var slots = new long[keep];
        for (var i = 0; i < keep; i++)
        {
            slots[i] = (_head + i) % _capacity;
            _ids[slots[i]] = ids[skip + i];
        }
        if (_keepEmbeddings && keep > 0)
        {
            var source = embeddings ?? throw new ArgumentNullException(nameof(embeddings));
            using var noGrad = no_grad();
            using var detached = source.detach();
            using var recent = detached.narrow(0, skip, keep); // (keep, D)
            using var rows32 = recent.to(ScalarType.Float32);
            EnsureBank(source.shape[1], source.device);
            using var index = tensor(slots, device: _bank!.device);
            _bank.index_copy_(0, index, rows32);
        }
        _head = (_head + keep) % _capacity;
        _count = Math.Min(_count + keep, _capacity);
    }

    /// <summary>
    /// Returns the newest occurrence of each remembered id not in <paramref name="exclude"/>, oldest
    /// first, with a fresh (B_mem, D) copy of their rows on <paramref name="device"/> (the bank moves
    /// there) when embeddings are kept.
    /// </summary>
    public (Tensor? Embeddings, int[] Ids) Distinct(IReadOnlySet<int> exclude, Device? device)
    {
        var seen = new HashSet<int>();
        var slots = new List<long>();
        for (var k = _count - 1; k >= 0; k--)
        {
            var slot = Slot(k);
            if (!exclude.Contains(_ids[slot]) && seen.Add(_ids[slot]))
            {
                slots.Add(slot);
            }
        }
        slots.Reverse();
        var ids = slots.ConvertAll(s => _ids[s]).ToArray();
        if (!_keepEmbeddings || slots.Count == 0 || _bank is null || device is null)
        {
            return (null, ids);
        }
        MoveBank(device);
        using var index = tensor(slots.ToArray(), device: _bank.device);
        return (_bank.index_select(0, index), ids); // (B_mem, D), a copy the caller owns
    }

    /// <summary>Exports the queue, oldest first: ids, row-major float32 rows and D (0 without embeddings).</summary>
    public (int[] Ids, float[] Embeddings, int Dimension) Export()
    {
        var ids = IdsOldestFirst();
        if (!_keepEmbeddings || _bank is null || _count == 0)
        {
            return (ids, [], 0);
        }
        var order = new long[_count];
        for (var k = 0; k < _count; k++)
        {
            order[k] = Slot(k);
        }
        using var index = tensor(order, device: _bank.device);
        using var rows = _bank.index_select(0, index); // (count, D)
        using var host = rows.cpu();
        return (ids, host.data<float>().ToArray(), (int)_bank.shape[1]);
    }

    /// <summary>Replaces the queue by an export; only the newest <c>capacity</c> rows are kept. The bank starts on the CPU.</summary>
    public void Import(int[] ids, float[] embeddings, int dimension)
    {
        if (_keepEmbeddings && ids.Length > 0 && (dimension < 1 || embeddings.Length != (long)ids.Length * dimension))
        {
            throw new ArgumentException($"expected {ids.Length} rows of {dimension} values, found {embeddings.Length} values");
        }
        Clear();
        if (ids.Length == 0)
        {
            return;
        }
        if (!_keepEmbeddings)
        {
            Enqueue(null, ids);
            return;
        }
        using var rows = tensor(embeddings, [ids.Length, dimension]); // (n, D) on the CPU
        Enqueue(rows, ids);
    }

    public void Clear()
    {
        _count = 0;
        _head = 0;
        _bank?.Dispose();
        _bank = null;
    }

    public void Dispose() => Clear();

    // The k-th oldest entry's slot.
    private int Slot(int k) => (_head - _count + k + _capacity) % _capacity;

    private void EnsureBank(long dimension, Device device)
    {
        if (_bank is not null && _bank.shape[1] != dimension)
        {
            throw new ArgumentException($"label embeddings have {dimension} columns, but the memory holds rows of {_bank.shape[1]}");
        }
        if (_bank is null)
        {
            // The bank outlives the trainer's per-step dispose scope it may be created in.
            _bank = zeros([_capacity, dimension], ScalarType.Float32, device).DetachFromDisposeScope();
            return;
        }
        MoveBank(device);
    }

    private void MoveBank(Device device)
    {
        if (_bank is null || (_bank.device.type == device.type && _bank.device.index == device.index))
        {
            return;
        }
        var moved = _bank.to(device).DetachFromDisposeScope();
        _bank.Dispose();
        _bank = moved;
    }
}
