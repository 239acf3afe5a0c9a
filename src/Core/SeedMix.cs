using System.IO.Hashing;
using System.Text;

namespace Skim.Core;

/// <summary>
/// Seeds derived from the run's seed and a purpose (and counters such as epoch and step), so every
/// random choice of a run can be remade from its position alone: a resumed run draws exactly what
/// the uninterrupted run drew, without saving generator states.
/// </summary>
public static class SeedMix
{
    /// <summary>Returns a 31-bit seed for <see cref="Random"/> from the run seed, a purpose and counters.</summary>
    public static int Of(long seed, string purpose, params long[] counters) => (int)(Hash(seed, purpose, counters) & int.MaxValue);

    /// <summary>Returns a 63-bit seed for libtorch's generator from the run seed, a purpose and counters.</summary>
    public static long Torch(long seed, string purpose, params long[] counters) => (long)(Hash(seed, purpose, counters) & long.MaxValue);

    private static ulong Hash(long seed, string purpose, long[] counters)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        ArgumentNullException.ThrowIfNull(counters);
        var bytes = new byte[8 + Encoding.UTF8.GetByteCount(purpose) + (8 * counters.Length)];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), seed);
        var offset = 8 + Encoding.UTF8.GetBytes(purpose, bytes.AsSpan(8));
        foreach (var counter in counters)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(offset, 8), counter);
            offset += 8;
        }
        return XxHash64.HashToUInt64(bytes);
    }
}
