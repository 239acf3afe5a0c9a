using System.Runtime.InteropServices;
using Skim.Core;

namespace Skim.Generate.Backends;

/// <summary>
/// Runs a batch in pieces of at most <see cref="Limit"/> items and halves the limit whenever a piece
/// runs out of memory, so that a batch size too large for the device costs a retry instead of the
/// run. The limit stays halved for later batches (prompts come longest first, so later ones fit).
/// </summary>
internal sealed class AdaptiveBatching
{
    /// <summary>Starts with pieces of <paramref name="limit"/> items.</summary>
    public AdaptiveBatching(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        Limit = limit;
    }

    /// <summary>Gets the current piece size.</summary>
    public int Limit { get; private set; }

    /// <summary>Gets how many times the limit was halved.</summary>
    public int Halvings { get; private set; }

    /// <summary>Runs <paramref name="run"/> over <paramref name="items"/> in pieces and returns the results in item order.</summary>
    /// <exception cref="SkimException">A single item does not fit in memory.</exception>
    public List<TOut> Run<TIn, TOut>(IReadOnlyList<TIn> items, Func<IReadOnlyList<TIn>, IReadOnlyList<TOut>> run, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(run);
        var results = new List<TOut>(items.Count);
        var next = 0;
        while (next < items.Count)
        {
            ct.ThrowIfCancellationRequested();
            var count = Math.Min(Limit, items.Count - next);
            var piece = items.Skip(next).Take(count).ToList();
            try
            {
                results.AddRange(run(piece));
                next += count;
            }
            catch (Exception e) when (IsOutOfMemory(e))
            {
                if (count == 1)
                {
                    throw new SkimException("out of memory generating for a single prompt; use a smaller max_new_tokens or max_prompt_tokens, bfloat16, or a device with more memory", e);
                }
                // The failed piece's tensors are garbage now; collecting frees their native memory before the retry.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Limit = Math.Max(1, count / 2);
                Halvings++;
            }
        }
        return results;
    }

    /// <summary>Gets whether <paramref name="e"/> is an allocation failure (libtorch's CPU or CUDA allocator, or the CLR's).</summary>
    internal static bool IsOutOfMemory(Exception e) => e switch
    {
        OutOfMemoryException => true,
        ExternalException or InvalidOperationException =>
            e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("not enough memory", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };
}
