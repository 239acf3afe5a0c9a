using Skim.Core;
using Skim.Generate.Sharding;

namespace Skim.Generate.Tests.Sharding;

public class ShardSpecTests
{
    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/8", 3, 8)]
    [InlineData(" 2 / 5 ", 2, 5)]
    public void Parse_reads_a_zero_based_shard_of_n(string text, int index, int count)
    {
        // Given / When
        var shard = ShardSpec.Parse(text);

        // Then
        Assert.Equal(index, shard.Index);
        Assert.Equal(count, shard.Count);
        Assert.Equal($"{index}/{count}", shard.ToString());
    }

    [Theory]
    [InlineData("3", "no single '/'")]
    [InlineData("1/2/3", "no single '/'")]
    [InlineData("a/4", "integer K, found 'a'")]
    [InlineData("1/", "integer N, found ''")]
    [InlineData("4/4", "0 <= K < N = 4, found 4")]
    [InlineData("5/4", "0 <= K < N = 4, found 5")]
    [InlineData("-1/4", "0 <= K < N = 4, found -1")]
    [InlineData("0/0", "N > 0, found 0")]
    [InlineData("0/-2", "N > 0, found -2")]
    public void Parse_refuses_bad_text_on_one_line_naming_the_option_and_value(string text, string problem)
    {
        // Given / When
        var error = Assert.Throws<SkimConfigException>(() => ShardSpec.Parse(text));

        // Then
        Assert.StartsWith($"--shard '{text}': ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void The_constructor_refuses_an_index_at_or_beyond_the_count()
    {
        // Given / When / Then
        Assert.Throws<SkimConfigException>(() => new ShardSpec(2, 2));
        Assert.Throws<SkimConfigException>(() => new ShardSpec(0, 0));
        Assert.Throws<SkimConfigException>(() => new ShardSpec(-1, 3));
    }

    [Fact]
    public void Ten_items_in_three_shards_give_the_first_shard_the_extra_item()
    {
        // Given / When
        var ranges = Enumerable.Range(0, 3).Select(k => new ShardSpec(k, 3).Range(10)).ToArray();

        // Then
        Assert.Equal([new ShardRange(0, 4), new ShardRange(4, 3), new ShardRange(7, 3)], ranges);
    }

    [Fact]
    public void Every_item_lies_in_exactly_one_shard_and_shards_are_contiguous_and_balanced()
    {
        foreach (var count in new long[] { 0, 1, 2, 3, 7, 10, 99, 100, 101, 1000, 1_000_003 })
        {
            foreach (var shards in new[] { 1, 2, 3, 4, 7, 10, 16, 64, 1000, 2000 })
            {
                // Given
                var ranges = Enumerable.Range(0, shards).Select(k => new ShardSpec(k, shards).Range(count)).ToArray();

                // When
                var next = 0L;
                var lengths = new HashSet<long>();
                foreach (var range in ranges)
                {
                    // Then each shard starts where the previous ended (so no item is skipped or repeated)
                    Assert.Equal(next, range.Start);
                    next = range.End;
                    lengths.Add(range.Length);
                }
                Assert.Equal(count, next);
                Assert.True(lengths.Max() - lengths.Min() <= 1, $"count {count}, {shards} shards: lengths {string.Join(",", lengths)}");
                for (var k = 0; k < shards; k++)
                {
                    Assert.Equal((count / shards) + (k < count % shards ? 1 : 0), ranges[k].Length);
                }
            }
        }
    }

    [Fact]
    public void Item_membership_counted_item_by_item_is_exactly_one()
    {
        // Given
        const int Count = 23;
        const int Shards = 5;
        var ranges = Enumerable.Range(0, Shards).Select(k => new ShardSpec(k, Shards).Range(Count)).ToArray();

        // When
        var owners = Enumerable.Range(0, Count).Select(item => ranges.Count(r => r.Contains(item))).ToArray();

        // Then
        Assert.All(owners, n => Assert.Equal(1, n));
        Assert.Equal([5L, 5, 5, 4, 4], ranges.Select(r => r.Length));
    }

    [Fact]
    public void Shards_beyond_the_item_count_are_empty()
    {
        // Given / When
        var range = new ShardSpec(5, 8).Range(3);

        // Then
        Assert.Equal(new ShardRange(3, 0), range);
    }
}
