using System.Text.Json.Serialization;

namespace Skim.XcTrain.Comparison;

/// <summary>
/// The contents of <c>compare.json</c>: every run's metrics, their differences from the first run,
/// each label-frequency decile's contribution to P@k and R@k, and, where it can be measured, how
/// many of the simulated-missing pairs an augmented train matrix recovered.
/// </summary>
/// <param name="Dataset">The dataset folder (full path).</param>
/// <param name="Split">The split scored (<c>trn</c> or <c>tst</c>).</param>
/// <param name="Truth">The ground truth file scored against, or null for the dataset's split matrix.</param>
/// <param name="K">The k reported.</param>
/// <param name="PropensityA">Propensity constant A used.</param>
/// <param name="PropensityB">Propensity constant B used.</param>
/// <param name="Filtered">Whether filter pairs were removed from the predictions.</param>
/// <param name="DecilePrecisionK">The k of the per-decile precision contributions.</param>
/// <param name="DecileRecallK">The k of the per-decile recall contributions.</param>
/// <param name="Deciles">The label-frequency deciles (decile 1 = the most frequent labels of the observed train matrix).</param>
/// <param name="Runs">The runs, the baseline first.</param>
/// <param name="OutputDirectory">The folder the report went to (full path).</param>
/// <param name="Files">The files written there, relative to it.</param>
public sealed record XcComparisonReport(
    string Dataset,
    string Split,
    string? Truth,
    IReadOnlyList<int> K,
    [property: JsonPropertyName("A")] double PropensityA,
    [property: JsonPropertyName("B")] double PropensityB,
    bool Filtered,
    int DecilePrecisionK,
    int DecileRecallK,
    IReadOnlyList<XcComparisonDecile> Deciles,
    IReadOnlyList<XcComparedRun> Runs,
    string OutputDirectory,
    IReadOnlyList<string> Files)
{
    /// <summary>Gets the name of the precision whose contributions are reported per decile (e.g. <c>P@5</c>).</summary>
    [JsonIgnore]
    public string DecilePrecisionName => $"P@{DecilePrecisionK}";

    /// <summary>Gets the name of the recall whose contributions are reported per decile (e.g. <c>R@100</c>).</summary>
    [JsonIgnore]
    public string DecileRecallName => $"R@{DecileRecallK}";
}

/// <summary>One tenth of the labels, by frequency in the dataset's observed train matrix.</summary>
/// <param name="Decile">1 (the most frequent labels, head) to 10 (the rarest, tail).</param>
/// <param name="Labels">Labels in the decile.</param>
/// <param name="MinTrainFrequency">Smallest train frequency in the decile (0 when it is empty).</param>
/// <param name="MaxTrainFrequency">Largest train frequency in the decile (0 when it is empty).</param>
/// <param name="TruthPairs">Positive pairs of the scored ground truth whose label is in the decile.</param>
public sealed record XcComparisonDecile(int Decile, int Labels, int MinTrainFrequency, int MaxTrainFrequency, long TruthPairs);

/// <summary>One run of a comparison.</summary>
/// <param name="Name">The name shown for it.</param>
/// <param name="Scores">The score matrix file (full path).</param>
/// <param name="RunDirectory">The training run folder, when known.</param>
/// <param name="TrainMatrix">The train matrix it trained on instead of the dataset's (e.g. <c>trn_X_Y_skim.npz</c>), when its manifest names one.</param>
/// <param name="Metrics">Metric name (P, nDCG, PSP, PSnDCG, R) → k → value (a fraction; null where undefined), as <c>skim eval</c> reports it.</param>
/// <param name="Difference">Metric → k → this run's value minus the first run's (0 for the first run).</param>
/// <param name="DecilePrecision">Each decile's contribution to P@<see cref="XcComparisonReport.DecilePrecisionK"/>; they sum to it.</param>
/// <param name="DecileRecall">Each decile's contribution to R@<see cref="XcComparisonReport.DecileRecallK"/>; they sum to it.</param>
/// <param name="Recovery">How many simulated-missing train pairs its train matrix added back, when measurable.</param>
public sealed record XcComparedRun(
    string Name,
    string Scores,
    string? RunDirectory,
    string? TrainMatrix,
    Dictionary<string, Dictionary<string, double?>> Metrics,
    Dictionary<string, Dictionary<string, double?>> Difference,
    IReadOnlyList<double> DecilePrecision,
    IReadOnlyList<double> DecileRecall,
    XcMissingLabelRecovery? Recovery)
{
    /// <summary>Gets the value of metric <paramref name="name"/> at <paramref name="k"/>, NaN where undefined.</summary>
    public double Get(string name, int k) =>
        Metrics[name][k.ToString(System.Globalization.CultureInfo.InvariantCulture)] ?? double.NaN;
}

/// <summary>
/// For a dataset with simulated missing labels (it holds the full train matrix) and a run trained on
/// an augmented matrix: the pairs the simulation removed from the observed matrix, the pairs the
/// augmentation added to it, and how many of the added pairs are removed ones.
/// </summary>
/// <param name="RemovedPairs">Pairs of the full matrix missing from the observed one.</param>
/// <param name="AddedPairs">Pairs with a positive value in the augmented matrix that the observed one lacks.</param>
/// <param name="RecoveredPairs">Added pairs that are removed ones.</param>
/// <param name="Recall">RecoveredPairs / RemovedPairs (0 when nothing was removed).</param>
/// <param name="Precision">RecoveredPairs / AddedPairs (0 when nothing was added).</param>
public sealed record XcMissingLabelRecovery(long RemovedPairs, long AddedPairs, long RecoveredPairs, double Recall, double Precision);
