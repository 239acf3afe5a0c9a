namespace Skim.Bench;

/// <summary>
/// One side-by-side benchmark: it times Skim's implementation and the Python reference on the same
/// machine and the same data, and prints one Markdown table row per measurement.
/// </summary>
public interface IBenchScenario
{
    /// <summary>Gets the name used on the command line: <c>skim-bench NAME</c>.</summary>
    string Name { get; }

    /// <summary>Gets a one-line description.</summary>
    string Description { get; }

    /// <summary>Runs the scenario in <paramref name="workDirectory"/>, writing results to <paramref name="output"/>.</summary>
    Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct);
}
