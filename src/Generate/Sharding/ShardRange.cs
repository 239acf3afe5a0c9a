namespace Skim.Generate.Sharding;

/// <summary>A contiguous run of item indices, <c>[Start, Start + Length)</c>.</summary>
/// <param name="Start">The first item index.</param>
/// <param name="Length">The number of items (0 for an empty shard).</param>
public readonly record struct ShardRange(long Start, long Length)
{
    /// <summary>Gets the index one past the last item.</summary>
    public long End => Start + Length;

    /// <summary>Gets whether <paramref name="item"/> lies in the range.</summary>
    public bool Contains(long item) => item >= Start && item < End;
}
