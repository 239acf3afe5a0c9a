using System.Globalization;
using Skim.Core;

namespace Skim.Generate.Sharding;

/// <summary>
/// One shard of a step-1 job, written <c>K/N</c> on the command line (<c>--shard 3/8</c>): shard
/// <see cref="Index"/> (0-based) of <see cref="Count"/>. Every shard is an independent job (a Slurm
/// array task, a Kubernetes indexed Job) and the shards of one item count tile it exactly.
/// </summary>
public readonly record struct ShardSpec
{
    /// <summary>Creates shard <paramref name="index"/> of <paramref name="count"/>.</summary>
    /// <exception cref="SkimConfigException"><paramref name="count"/> is not positive or <paramref name="index"/> is outside [0, count).</exception>
    public ShardSpec(int index, int count)
    {
        if (count <= 0)
        {
            throw new SkimConfigException($"shard {index}/{count}: expected a shard count N > 0, found {count}");
        }
        if (index < 0 || index >= count)
        {
            throw new SkimConfigException($"shard {index}/{count}: expected a 0-based shard index K with 0 <= K < {count}, found {index}");
        }
        Index = index;
        Count = count;
    }

    /// <summary>Gets the whole job as one shard (<c>0/1</c>).</summary>
    public static ShardSpec All { get; } = new(0, 1);

    /// <summary>Gets the 0-based index of this shard, below <see cref="Count"/>.</summary>
    public int Index { get; }

    /// <summary>Gets the number of shards the job is split into.</summary>
    public int Count { get; }

    /// <summary>
    /// Parses <c>K/N</c> (0-based shard K of N, e.g. <c>0/4</c> .. <c>3/4</c>; spaces around the numbers are allowed).
    /// </summary>
    /// <param name="text">The option value.</param>
    /// <param name="option">The option's name, used in the error message.</param>
    /// <exception cref="SkimConfigException">The text is not <c>K/N</c> with integers 0 &lt;= K &lt; N.</exception>
    public static ShardSpec Parse(string text, string option = "--shard")
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || text.IndexOf('/', slash + 1) >= 0)
        {
            throw new SkimConfigException($"{option} '{text}': expected K/N (0-based shard K of N shards, e.g. 0/4), found no single '/'");
        }
        var index = ParsePart(text, text.AsSpan(0, slash), "K", option);
        var count = ParsePart(text, text.AsSpan(slash + 1), "N", option);
        if (count <= 0)
        {
            throw new SkimConfigException($"{option} '{text}': expected a shard count N > 0, found {count}");
        }
        if (index < 0 || index >= count)
        {
            throw new SkimConfigException($"{option} '{text}': expected a 0-based shard index 0 <= K < N = {count}, found {index}");
        }
        return new ShardSpec(index, count);
    }

    /// <summary>
    /// Gets the contiguous range of items this shard owns out of <paramref name="itemCount"/>: the
    /// ranges are balanced (lengths differ by at most one), the first <c>itemCount % N</c> shards hold
    /// one extra item, and shard K starts where shard K-1 ends. Shards beyond the item count are empty.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="itemCount"/> is negative.</exception>
    public ShardRange Range(long itemCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(itemCount);
        var baseLength = itemCount / Count;
        var extra = itemCount % Count;
        var start = (Index * baseLength) + Math.Min(Index, extra);
        var length = baseLength + (Index < extra ? 1 : 0);
        return new ShardRange(start, length);
    }

    /// <summary>Formats the shard as <c>K/N</c>, the text <see cref="Parse"/> reads.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    private static int ParsePart(string text, ReadOnlySpan<char> part, string name, string option)
    {
        if (!int.TryParse(part.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new SkimConfigException($"{option} '{text}': expected K/N with integer {name}, found '{part.Trim()}'");
        }
        return value;
    }
}
