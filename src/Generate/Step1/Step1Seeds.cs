namespace Skim.Generate.Step1;

/// <summary>
/// The sampling seed of each item, a function of the run's seed and the item's index only: an
/// item's text is then the same whichever batch, shard or resumed run generates it.
/// </summary>
public static class Step1Seeds
{
    /// <summary>Gets how the seed is derived, for manifests.</summary>
    public const string Rule = "splitmix64(splitmix64(seed) xor item)";

    /// <summary>Gets item <paramref name="item"/>'s seed under the run seed <paramref name="seed"/>.</summary>
    public static long ForItem(long seed, long item) =>
        unchecked((long)Mix(Mix((ulong)seed) ^ (ulong)item));

    // SplitMix64's finaliser: nearby items get unrelated seeds.
    private static ulong Mix(ulong x)
    {
        unchecked
        {
            x += 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }
}
