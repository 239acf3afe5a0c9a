namespace Skim.Generate.Sharding;

/// <summary>
/// The order in which step-1 feeds prompts to the model: longest prompt first, so that a batch too
/// large for the device fails in the first minutes rather than hours into a run, and batches hold
/// prompts of similar length (less padding).
/// </summary>
public static class PromptOrdering
{
    /// <summary>
    /// Returns the item indices sorted by token length descending; equal lengths keep ascending index
    /// order, so the order depends only on the lengths (a resumed or re-sharded run sees the same order).
    /// </summary>
    /// <param name="tokenLengths">The token length of each prompt, by item index.</param>
    /// <exception cref="ArgumentOutOfRangeException">A length is negative.</exception>
    public static int[] LongestFirst(IReadOnlyList<int> tokenLengths)
    {
        ArgumentNullException.ThrowIfNull(tokenLengths);
        var order = new int[tokenLengths.Count];
        for (var i = 0; i < order.Length; i++)
        {
            if (tokenLengths[i] < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(tokenLengths), $"prompt {i} has a negative token length {tokenLengths[i]}");
            }
            order[i] = i;
        }

        // Array.Sort is not stable; the index tie-break in the comparison makes the order total.
        Array.Sort(order, (a, b) =>
        {
            var byLength = tokenLengths[b].CompareTo(tokenLengths[a]);
            return byLength != 0 ? byLength : a.CompareTo(b);
        });
        return order;
    }
}
