using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Metrics;
using Skim.Core.Manifests;
using Skim.Core.Stages;
using Skim.XcTrain.Fusion;
using Skim.XcTrain.Prediction;

namespace Skim.Pipelines.Stages;

/// <summary>
/// Options of <see cref="EvaluateStage"/>: score a split with a trained run (<c>skim predict</c>) and
/// evaluate the scores (<c>skim eval</c>), into a folder of its own beside the run.
/// </summary>
public sealed record EvaluateStageOptions
{
    /// <summary>Gets the run folder of <c>skim train</c>. Required.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>Gets the folder the scores, <c>metrics.json</c> and the manifest go to. Required.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Gets the dataset folder; null takes the one the run trained on. Defaults to null.</summary>
    public string? DatasetDirectory { get; init; }

    /// <summary>Gets the split to score: tst or trn. Defaults to tst.</summary>
    public string Split { get; init; } = XcDataset.TestSplit;

    /// <summary>
    /// Gets the prediction method: label, instance, fusion, classifier or classifier-fusion (the last two
    /// read the M-IV classifier of a <c>classifier</c> stage). Defaults to label.
    /// </summary>
    public PredictionMethod Method { get; init; } = PredictionMethod.Label;

    /// <summary>Gets the labels kept per point. Defaults to 100.</summary>
    public int TopK { get; init; } = 100;

    /// <summary>Gets the training points consulted per point by instance kNN. Defaults to 50.</summary>
    public int Neighbours { get; init; } = 50;

    /// <summary>Gets the weight of label retrieval in the fusion. Defaults to 0.5.</summary>
    public double FusionWeight { get; init; } = 0.5;

    /// <summary>
    /// Gets whether fusion chooses its weight and neighbours on the run's validation rows (report in
    /// <c>fusion_tuning.json</c> beside the scores) instead of taking the two above. Defaults to false.
    /// </summary>
    public bool TuneFusion { get; init; }

    /// <summary>Gets how classifier-fusion fuses: tree (NGAME's) or sum. Defaults to tree.</summary>
    public FusionKind Fusion { get; init; } = FusionKind.Tree;

    /// <summary>Gets the classifier folder of a <c>classifier</c> stage; null takes <c>classifier/</c> in the run. Defaults to null.</summary>
    public string? ClassifierDirectory { get; init; }

    /// <summary>Gets the propensity A; null takes the dataset's default. Defaults to null.</summary>
    public double? PropensityA { get; init; }

    /// <summary>Gets the propensity B; null takes the dataset's default. Defaults to null.</summary>
    public double? PropensityB { get; init; }

    /// <summary>Gets whether the split's filter pairs are removed before scoring. Defaults to true.</summary>
    public bool Filter { get; init; } = true;

    /// <summary>Gets the device. Defaults to auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Gets the score file this stage writes.</summary>
    public string ScoresPath => Path.Combine(OutputDirectory, $"{XcDataset.NormalizeSplit(Split)}_scores.npz");

    /// <summary>Gets the metrics file this stage writes.</summary>
    public string MetricsPath => Path.Combine(OutputDirectory, "metrics.json");

    internal XcPredictOptions PredictOptions => new()
    {
        RunDirectory = RunDirectory,
        DatasetDirectory = DatasetDirectory,
        Split = Split,
        Method = Method,
        TopK = TopK,
        Neighbours = Neighbours,
        FusionWeight = FusionWeight,
        TuneFusion = TuneFusion,
        Fusion = Fusion,
        ClassifierDirectory = ClassifierDirectory,
        PropensityA = PropensityA,
        PropensityB = PropensityB,
        Device = Device,
        OutputPath = ScoresPath,
    };
}

/// <summary>Predict and evaluate as one pipeline stage (kind <c>evaluate</c>).</summary>
public sealed class EvaluateStage : Stage<EvaluateStageOptions>
{
    /// <inheritdoc/>
    public override string Kind => "evaluate";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Inputs(EvaluateStageOptions options)
    {
        var inputs = new List<string> { Path.Combine(options.RunDirectory, "encoder"), Path.Combine(options.RunDirectory, RunManifest.FileName) };
        if (options.DatasetDirectory is { } dataset)
        {
            inputs.Add(dataset);
        }
        if (options.Method is PredictionMethod.Classifier or PredictionMethod.ClassifierFusion)
        {
            inputs.Add(options.PredictOptions.ResolvedClassifierDirectory);
        }
        return inputs;
    }

    /// <inheritdoc/>
    protected override string OutputDirectory(EvaluateStageOptions options) => options.OutputDirectory;

    /// <inheritdoc/>
    protected override void Validate(EvaluateStageOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.OutputDirectory))
        {
            throw new SkimConfigException("output_directory: required");
        }
        options.PredictOptions.Validate();
    }

    /// <inheritdoc/>
    protected override Task<JsonObject> RunAsync(EvaluateStageOptions options, IProgress<StageProgress>? progress, CancellationToken ct) =>
        // libtorch work is synchronous; the caller's thread stays free to render progress.
        Task.Run(() => Run(options, progress, ct), ct);

    private JsonObject Run(EvaluateStageOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var inputs = Inputs(options);
        var started = StageManifests.WriteStarted(Kind, options, 0, inputs, options.OutputDirectory);
        progress?.Report(new StageProgress("predict", 0, 1, "splits"));
        var predicted = XcPredictor.Run(options.PredictOptions, ct);
        progress?.Report(new StageProgress("evaluate", 0, 1, "splits"));
        var report = XcEvaluation.Run(new XcEvaluationOptions
        {
            DatasetDirectory = predicted.DatasetDirectory,
            ScoresPath = predicted.ScoresPath,
            Split = options.Split,
            PropensityA = options.PropensityA,
            PropensityB = options.PropensityB,
            Filter = options.Filter,
            OutputPath = options.MetricsPath,
        }, ct);
        var summary = new JsonObject { ["points"] = predicted.Points, ["method"] = predicted.Method.ToString().ToLowerInvariant() };
        if (predicted.Tuning is { } tuning)
        {
            summary["fusion_weight"] = tuning.Weight;
            summary["neighbours"] = tuning.Neighbours;
        }
        foreach (var (name, byK) in report.Metrics)
        {
            foreach (var (k, value) in byK)
            {
                summary[string.Create(CultureInfo.InvariantCulture, $"{name}@{k}")] = value;
            }
        }
        StageManifests.WriteComplete(Kind, options, 0, inputs, options.OutputDirectory, [options.ScoresPath, options.MetricsPath], summary, started);
        return summary;
    }
}
