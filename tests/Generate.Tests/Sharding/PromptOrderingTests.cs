using Skim.Generate.Sharding;

namespace Skim.Generate.Tests.Sharding;

public class PromptOrderingTests
{
    [Fact]
    public void Longest_prompts_come_first_and_equal_lengths_keep_index_order()
    {
        // Given
        int[] lengths = [5, 9, 5, 1, 9, 7, 5];

        // When
        var order = PromptOrdering.LongestFirst(lengths);

        // Then
        Assert.Equal([1, 4, 5, 0, 2, 6, 3], order);
    }

    [Fact]
    public void The_order_is_the_same_on_every_call_for_many_ties()
    {
        // Given 10,000 prompts with only three distinct lengths
        var random = new Random(7);
        var lengths = Enumerable.Range(0, 10_000).Select(_ => random.Next(3)).ToArray();

        // When
        var first = PromptOrdering.LongestFirst(lengths);
        var second = PromptOrdering.LongestFirst(lengths);

        // Then it equals a stable sort by length descending
        var expected = lengths.Select((length, index) => (length, index))
            .OrderByDescending(p => p.length)
            .Select(p => p.index)
            .ToArray();
        Assert.Equal(expected, first);
        Assert.Equal(first, second);
    }

    [Fact]
    public void A_negative_length_is_refused()
    {
        // Given / When
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => PromptOrdering.LongestFirst([3, -1]));

        // Then
        Assert.Contains("prompt 1", error.Message, StringComparison.Ordinal);
    }
}
