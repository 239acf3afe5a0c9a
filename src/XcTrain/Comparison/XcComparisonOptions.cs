using System.Globalization;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Metrics;

namespace Skim.XcTrain.Comparison;

/// <summary>What <see cref="XcComparison.Run"/> compares (<c>skim compare</c>, pipeline stage <c>compare</c>).</summary>
public sealed record XcComparisonOptions
{
    /// <summary>The name of the folder written next to the first run when no output folder is given.</summary>
    public const string DefaultFolderName = "compare";

    /// <summary>
    /// Gets the runs, the first being the baseline the others are measured against: each the folder of
    /// a <c>skim train</c> run holding its <c>{split}_scores.npz</c> from <c>skim predict</c> (or of an
    /// <c>evaluate</c> pipeline stage), or a score <c>.npz</c> file itself. At least one. Required.
    /// </summary>
    public required IReadOnlyList<string> Runs { get; init; }

    /// <summary>
    /// Gets the dataset folder; null takes the one the runs trained on (from their manifests, which
    /// must agree). Its observed train matrix gives propensities and label-frequency deciles. Defaults to null.
    /// </summary>
    public string? DatasetDirectory { get; init; }

    /// <summary>Gets the split the scores are for: <c>tst</c> or <c>trn</c>. Defaults to <c>tst</c>.</summary>
    public string Split { get; init; } = XcDataset.TestSplit;

    /// <summary>
    /// Gets another ground truth of the split's shape (<c>.npz</c>, or XC sparse text <c>.txt</c>) to score
    /// against instead of the dataset's (e.g. a complete matrix of a split with missing labels). Defaults to null.
    /// </summary>
    public string? TruthPath { get; init; }

    /// <summary>Gets the names shown for the runs, one per run; null takes folder (or file) names. Defaults to null.</summary>
    public IReadOnlyList<string>? Names { get; init; }

    /// <summary>Gets the k at which every metric is reported, ascending and unique. Defaults to 1, 3, 5, 10, 100.</summary>
    public IReadOnlyList<int> Ks { get; init; } = XcEvaluationOptions.DefaultKs;

    /// <summary>Gets the propensity constant A; null takes the dataset family's (as <c>skim eval</c>). Defaults to null.</summary>
    public double? PropensityA { get; init; }

    /// <summary>Gets the propensity constant B; null takes the dataset family's. Defaults to null.</summary>
    public double? PropensityB { get; init; }

    /// <summary>Gets whether the split's filter pairs are removed from the predictions (as <c>skim eval</c>). Defaults to true.</summary>
    public bool Filter { get; init; } = true;

    /// <summary>Gets the k of the precision whose per-decile contributions are reported. Defaults to 5.</summary>
    public int DecilePrecisionK { get; init; } = 5;

    /// <summary>Gets the k of the recall whose per-decile contributions are reported. Defaults to 100.</summary>
    public int DecileRecallK { get; init; } = 100;

    /// <summary>Gets the folder the tables, charts and report go to; null takes <c>compare/</c> next to the first run. Defaults to null.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Gets the output folder in use.</summary>
    public string ResolvedOutputDirectory
    {
        get
        {
            if (OutputDirectory is { } output)
            {
                return output;
            }
            var first = Path.GetFullPath(Runs.Count > 0 ? Runs[0] : ".");
            // A run folder's comparison sits beside it; a score file's beside its folder.
            var anchor = Directory.Exists(first) ? first : Path.GetDirectoryName(first)!;
            return Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(anchor)) ?? anchor, DefaultFolderName);
        }
    }

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (Runs is null || Runs.Count == 0)
        {
            throw new SkimConfigException("runs: expected at least one run folder or score file");
        }
        if (Runs.Any(string.IsNullOrWhiteSpace))
        {
            throw new SkimConfigException("runs: an empty path was given");
        }
        _ = XcDataset.NormalizeSplit(Split);
        if (Names is { } names)
        {
            if (names.Count != Runs.Count)
            {
                throw new SkimConfigException($"--names: expected {Runs.Count} names (one per run), found {names.Count}");
            }
            if (names.Any(string.IsNullOrWhiteSpace))
            {
                throw new SkimConfigException("--names: a name is empty");
            }
            var duplicate = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw new SkimConfigException($"--names: \"{duplicate.Key}\" is given twice; names must be unique");
            }
        }
        if (Ks is null || Ks.Count == 0 || Ks.Any(k => k < 1) || Ks.Zip(Ks.Skip(1)).Any(pair => pair.First >= pair.Second))
        {
            throw new SkimConfigException($"--k: expected ascending unique integers of at least 1, found [{string.Join(", ", Ks ?? [])}]");
        }
        if (DecilePrecisionK < 1)
        {
            throw new SkimConfigException($"decile_precision_k: expected at least 1, found {DecilePrecisionK}");
        }
        if (DecileRecallK < 1)
        {
            throw new SkimConfigException($"decile_recall_k: expected at least 1, found {DecileRecallK}");
        }
        if (PropensityA is { } a && !double.IsFinite(a))
        {
            throw new SkimConfigException($"--A: expected a finite number, found {a.ToString(CultureInfo.InvariantCulture)}");
        }
        if (PropensityB is { } b && (!double.IsFinite(b) || b <= 0))
        {
            throw new SkimConfigException($"--B: expected a number above 0, found {b.ToString(CultureInfo.InvariantCulture)}");
        }
    }
}
