namespace Skim.Core.Metrics;

/// <summary>
/// Packs a (score, label) pair into one 64-bit key whose ascending order is descending score, then
/// ascending label id. A row is then ranked by a plain primitive sort or a heap of integers, and the
/// tie rule (DEXML's stable mergesort on <c>-data</c> after <c>sort_indices</c>) comes for free.
/// </summary>
internal static class RankKey
{
    private const uint SignBit = 0x8000_0000u;

    /// <summary>Makes the key; −0 and +0 are one score. The caller rejects NaN.</summary>
    public static ulong Make(float score, int label)
    {
        // Map the float's bits to an unsigned integer that grows with the score, then invert it so
        // that the highest score gets the smallest key.
        var bits = BitConverter.SingleToUInt32Bits(score == 0f ? 0f : score);
        var ordered = (bits & SignBit) != 0 ? ~bits : bits | SignBit;
        return ((ulong)~ordered << 32) | (uint)label;
    }

    /// <summary>Gets the label of a key.</summary>
    public static int Label(ulong key) => (int)(uint)key;

    /// <summary>Gets the score of a key.</summary>
    public static float Score(ulong key)
    {
        var ordered = ~(uint)(key >> 32);
        var bits = (ordered & SignBit) != 0 ? ordered & ~SignBit : ~ordered;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    /// <summary>
    /// Offers <paramref name="key"/> to <paramref name="buffer"/>[0..count), which keeps the
    /// <paramref name="capacity"/> smallest keys seen; once full it is a max-heap, so most candidates of
    /// a long row are rejected by one comparison with the root.
    /// </summary>
    public static void Offer(Span<ulong> buffer, ref int count, int capacity, ulong key)
    {
        if (count < capacity)
        {
            buffer[count++] = key;
            if (count == capacity)
            {
                var heap = buffer[..capacity];
                for (var i = (capacity / 2) - 1; i >= 0; i--)
                {
                    SiftDown(heap, i);
                }
            }
            return;
        }
        if (key >= buffer[0])
        {
            return;
        }
        buffer[0] = key;
        SiftDown(buffer[..capacity], 0);
    }

    private static void SiftDown(Span<ulong> heap, int i)
    {
        var value = heap[i];
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= heap.Length)
            {
                break;
            }
            if (child + 1 < heap.Length && heap[child + 1] > heap[child])
            {
                child++;
            }
            if (heap[child] <= value)
            {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = value;
    }
}
