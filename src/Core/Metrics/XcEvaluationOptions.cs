using System.Globalization;
using Skim.Core.Datasets;

namespace Skim.Core.Metrics;

/// <summary>What <see cref="XcEvaluation.Run"/> scores: a score matrix file against one split of a dataset folder.</summary>
public sealed record XcEvaluationOptions
{
    /// <summary>The k at which metrics are reported unless told otherwise (the paper's).</summary>
    public static readonly IReadOnlyList<int> DefaultKs = [1, 3, 5, 10, 100];

    /// <summary>Gets the dataset folder (DEXML or XC layout); its train matrix gives the propensities. Required.</summary>
    public required string DatasetDirectory { get; init; }

    /// <summary>Gets the score matrix (scipy CSR <c>.npz</c>): rows = points of the split, columns = labels. Required.</summary>
    public required string ScoresPath { get; init; }

    /// <summary>Gets the split the scores are for: <c>tst</c> or <c>trn</c> (<c>test</c>/<c>train</c> also work). Defaults to <c>tst</c>.</summary>
    public string Split { get; init; } = XcDataset.TestSplit;

    /// <summary>Gets the propensity constant A; null takes the dataset family's (see <see cref="InversePropensity.DefaultsFor"/>). Defaults to null.</summary>
    public double? PropensityA { get; init; }

    /// <summary>Gets the propensity constant B; null takes the dataset family's. Defaults to null.</summary>
    public double? PropensityB { get; init; }

    /// <summary>Gets the k at which every metric is reported, ascending and unique. Defaults to 1, 3, 5, 10, 100.</summary>
    public IReadOnlyList<int> Ks { get; init; } = DefaultKs;

    /// <summary>Gets where <c>metrics.json</c> is written; null writes it next to the scores file. Defaults to null.</summary>
    public string? OutputPath { get; init; }

    /// <summary>Gets whether the split's filter pairs (<c>filter_labels_*.txt</c>) are removed from the predictions. Defaults to true.</summary>
    public bool Filter { get; init; } = true;

    /// <summary>Gets the metrics file this evaluation writes.</summary>
    public string ResolvedOutputPath =>
        OutputPath ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(ScoresPath))!, "metrics.json");

    /// <summary>
    /// Parses a comma-separated list of k (<c>"5,1,3"</c>) into ascending unique values.
    /// </summary>
    /// <exception cref="SkimConfigException">A part is not an integer of at least 1.</exception>
    public static IReadOnlyList<int> ParseKs(string text, string key = "--k")
    {
        ArgumentNullException.ThrowIfNull(text);
        var ks = new SortedSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var k) || k < 1)
            {
                throw new SkimConfigException($"{key}: expected comma-separated integers of at least 1, found \"{part}\" in \"{text}\"");
            }
            ks.Add(k);
        }
        return [.. ks];
    }

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the option when a value is out of range.</summary>
    public void Validate()
    {
        _ = XcDataset.NormalizeSplit(Split);
        if (Ks.Count == 0 || Ks.Any(k => k < 1) || Ks.Zip(Ks.Skip(1)).Any(pair => pair.First >= pair.Second))
        {
            throw new SkimConfigException($"k: expected ascending unique integers of at least 1, found [{string.Join(", ", Ks)}]");
        }
        if (PropensityA is { } a && !double.IsFinite(a))
        {
            throw new SkimConfigException($"propensity_a: expected a finite number, found {a.ToString(CultureInfo.InvariantCulture)}");
        }
        if (PropensityB is { } b && (!double.IsFinite(b) || b <= 0))
        {
            throw new SkimConfigException($"propensity_b: expected a number above 0, found {b.ToString(CultureInfo.InvariantCulture)}");
        }
    }
}
