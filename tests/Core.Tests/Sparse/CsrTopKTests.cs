using Skim.Core.Sparse;

namespace Skim.Core.Tests.Sparse;

public class CsrTopKTests
{
    [Fact]
    public void TopK_keeps_the_largest_values_of_each_row_in_stored_order()
    {
        // Given
        var matrix = CsrSamples.FromEntries(6, [(0, 0.1f), (1, 0.9f), (2, 0.5f), (3, 0.7f)], [(5, 0.2f)]);

        // When
        var top = matrix.TopKPerRow(2);

        // Then
        Assert.Equal([(1, 0.9f), (3, 0.7f)], CsrSamples.Row(top, 0));
        Assert.Equal([(5, 0.2f)], CsrSamples.Row(top, 1));
    }

    [Fact]
    public void TopK_breaks_ties_by_the_lower_column()
    {
        // Given four equal scores stored in descending column order
        var matrix = CsrSamples.FromEntries(10, [(9, 0.5f), (7, 0.5f), (3, 0.5f), (8, 0.6f), (1, 0.5f)]);

        // When
        var top = matrix.TopKPerRow(3);

        // Then the 0.6 wins, then columns 1 and 3 of the tied 0.5s; stored order is kept
        Assert.Equal([(3, 0.5f), (8, 0.6f), (1, 0.5f)], CsrSamples.Row(top, 0));
    }

    [Fact]
    public void TopK_ranks_NaN_below_every_number()
    {
        // Given
        var matrix = CsrSamples.FromEntries(3, [(0, float.NaN), (1, -5f), (2, float.NaN)]);

        // When
        var top = matrix.TopKPerRow(1);

        // Then
        Assert.Equal([(1, -5f)], CsrSamples.Row(top, 0));
    }

    [Fact]
    public void TopK_of_zero_keeps_nothing_and_handles_empty_rows()
    {
        // Given
        var matrix = CsrSamples.FromEntries(3, [], [(0, 1f)], []);

        // When
        var none = matrix.TopKPerRow(0);
        var all = matrix.TopKPerRow(5);

        // Then
        Assert.Equal(new int[4], none.IndPtr);
        Assert.Equal([0, 0, 1, 1], all.IndPtr);
    }

    [Fact]
    public void TopK_of_a_large_random_matrix_agrees_with_sorting_each_row()
    {
        // Given rows of up to 200 entries with many tied values, enough to take the parallel path
        var random = new Random(3);
        var builder = new CsrBuilder(1000);
        var deck = Enumerable.Range(0, 1000).ToArray();
        for (var r = 0; r < 12_000; r++)
        {
            // A partial Fisher-Yates shuffle draws distinct columns in random order.
            var length = random.Next(201);
            for (var p = 0; p < length; p++)
            {
                var swap = random.Next(p, deck.Length);
                (deck[p], deck[swap]) = (deck[swap], deck[p]);
            }
            var columns = deck[..length];
            builder.AddRow(columns, columns.Select(_ => random.Next(10) / 10f).ToArray());
        }
        var matrix = builder.Build();

        // When
        var top = matrix.TopKPerRow(10);

        // Then each row holds the first 10 of (value desc, column asc), in stored order
        for (var r = 0; r < matrix.Rows; r++)
        {
            var row = CsrSamples.Row(matrix, r);
            var expected = row.Select((e, p) => (e.Column, e.Value, Position: p))
                .OrderByDescending(e => e.Value).ThenBy(e => e.Column).Take(10)
                .OrderBy(e => e.Position).Select(e => (e.Column, e.Value)).ToArray();
            Assert.Equal(expected, CsrSamples.Row(top, r));
        }
    }
}
