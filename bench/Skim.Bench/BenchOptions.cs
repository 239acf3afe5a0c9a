namespace Skim.Bench;

/// <summary>Options of the whole run, from the command line.</summary>
public static class BenchOptions
{
    /// <summary>
    /// Gets or sets a value indicating whether scenarios run with smaller sizes and fewer repeats
    /// (<c>--quick</c>): a check that every step, the baseline tuning included, works and prints what
    /// it chose, in a minute or two; its numbers are not results to record.
    /// </summary>
    public static bool Quick { get; set; }
}
