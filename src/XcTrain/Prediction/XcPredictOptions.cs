using System.Globalization;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.XcTrain.Fusion;

namespace Skim.XcTrain.Prediction;

/// <summary>How a trained encoder turns points into label scores.</summary>
public enum PredictionMethod
{
    /// <summary>Label-embedding retrieval: a label's score is the similarity of its text's embedding to the point's.</summary>
    Label,

    /// <summary>Instance kNN: the labels of the nearest training points, each weighted by that point's similarity.</summary>
    Instance,

    /// <summary>A weighted sum of the two.</summary>
    Fusion,

    /// <summary>NGAME's M-IV classifier (<c>skim classifier train</c>): a label's score is the cosine of its classifier vector with the point's embedding.</summary>
    Classifier,

    /// <summary>The classifier's scores fused with label-embedding retrieval (NGAME's tree fusion, or a weighted sum).</summary>
    ClassifierFusion,
}

/// <summary>What <see cref="XcPredictor.Run"/> predicts (<c>skim predict</c>).</summary>
public sealed record XcPredictOptions
{
    /// <summary>Gets the run folder of <c>skim train</c> (its <c>encoder/</c> and manifest). Required.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>Gets the dataset folder; null takes the one the run trained on. Defaults to null.</summary>
    public string? DatasetDirectory { get; init; }

    /// <summary>Gets the split to score: tst or trn. Defaults to tst.</summary>
    public string Split { get; init; } = XcDataset.TestSplit;

    /// <summary>Gets the method. Defaults to <see cref="PredictionMethod.Label"/>.</summary>
    public PredictionMethod Method { get; init; } = PredictionMethod.Label;

    /// <summary>Gets the labels kept per point. Defaults to 100.</summary>
    public int TopK { get; init; } = 100;

    /// <summary>Gets the training points consulted per point by instance kNN. Defaults to 50.</summary>
    public int Neighbours { get; init; } = 50;

    /// <summary>
    /// Gets the weight of label retrieval in a weighted-sum fusion: the other side (instance kNN for
    /// <see cref="PredictionMethod.Fusion"/>, the classifier for <see cref="PredictionMethod.ClassifierFusion"/>
    /// with <see cref="FusionKind.Sum"/>) gets 1 − it. Defaults to 0.5.
    /// </summary>
    public double FusionWeight { get; init; } = 0.5;

    /// <summary>
    /// Gets whether <see cref="PredictionMethod.Fusion"/> chooses its weight and neighbours on the
    /// training run's held-out validation rows (<see cref="FusionTuning"/>, report written beside the
    /// scores) instead of taking <see cref="FusionWeight"/> and <see cref="Neighbours"/>. Defaults to false.
    /// </summary>
    public bool TuneFusion { get; init; }

    /// <summary>Gets how <see cref="PredictionMethod.ClassifierFusion"/> fuses: NGAME's tree or a weighted sum. Defaults to <see cref="FusionKind.Tree"/>.</summary>
    public FusionKind Fusion { get; init; } = FusionKind.Tree;

    /// <summary>Gets β of the tree fusion, <c>β·(p + s_label) + s_clf</c>. Defaults to 1 (NGAME).</summary>
    public double FusionBeta { get; init; } = 1.0;

    /// <summary>Gets the training rows whose shortlists the fusion tree is fitted on (a seeded sample). Defaults to 20000 (NGAME: 75000).</summary>
    public int FusionSampleRows { get; init; } = 20000;

    /// <summary>Gets the fusion tree's depth limit. Defaults to 7 (NGAME).</summary>
    public int FusionDepth { get; init; } = 7;

    /// <summary>
    /// Gets the fewest (point, label) pairs a leaf of the fusion tree holds. NGAME uses scikit-learn's
    /// default, 1, on millions of pairs; on small data such leaves give noisy probabilities of 0 or 1.
    /// Defaults to 1.
    /// </summary>
    public int FusionMinLeaf { get; init; } = 1;

    /// <summary>Gets the seed of the fusion's row sample. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the classifier folder of <c>skim classifier train</c>; null takes <c>classifier/</c> in the run. Defaults to null.</summary>
    public string? ClassifierDirectory { get; init; }

    /// <summary>Gets the propensity A of the fusion's inverse-propensity feature; null takes the dataset's default. Defaults to null.</summary>
    public double? PropensityA { get; init; }

    /// <summary>Gets the propensity B of the fusion's inverse-propensity feature; null takes the dataset's default. Defaults to null.</summary>
    public double? PropensityB { get; init; }

    /// <summary>Gets the classifier folder in use.</summary>
    public string ResolvedClassifierDirectory => ClassifierDirectory ?? Path.Combine(RunDirectory, Classifiers.Miv.MivOptions.DefaultFolderName);

    /// <summary>Gets where the score matrix goes; null writes <c>{split}_scores.npz</c> in the run folder. Defaults to null.</summary>
    public string? OutputPath { get; init; }

    /// <summary>Gets the device: auto, cpu, cuda or cuda:N. Defaults to auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Gets the rows embedded at once. Defaults to 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Gets the score file in use.</summary>
    public string ResolvedOutputPath => OutputPath ?? Path.Combine(RunDirectory, $"{XcDataset.NormalizeSplit(Split)}_scores.npz");

    /// <summary>Parses a method: label, instance, fusion, classifier or classifier-fusion.</summary>
    public static PredictionMethod ParseMethod(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "label" => PredictionMethod.Label,
        "instance" => PredictionMethod.Instance,
        "fusion" => PredictionMethod.Fusion,
        "classifier" => PredictionMethod.Classifier,
        "classifier-fusion" => PredictionMethod.ClassifierFusion,
        _ => throw new SkimConfigException($"method: expected label, instance, fusion, classifier or classifier-fusion, found \"{value}\""),
    };

    /// <summary>The kebab-case name of a method, as <see cref="ParseMethod"/> reads it.</summary>
    public static string MethodName(PredictionMethod method) => method == PredictionMethod.ClassifierFusion ? "classifier-fusion" : method.ToString().ToLowerInvariant();

    /// <summary>Parses a fusion kind: tree or sum.</summary>
    public static FusionKind ParseFusion(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "tree" => FusionKind.Tree,
        "sum" => FusionKind.Sum,
        _ => throw new SkimConfigException($"fusion: expected tree or sum, found \"{value}\""),
    };

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        _ = XcDataset.NormalizeSplit(Split);
        if (TopK < 1)
        {
            throw new SkimConfigException($"top_k: expected a positive number of labels, found {TopK}");
        }
        if (Neighbours < 1)
        {
            throw new SkimConfigException($"neighbours: expected a positive number of training points, found {Neighbours}");
        }
        if (!(FusionWeight >= 0 && FusionWeight <= 1))
        {
            throw new SkimConfigException($"fusion_weight: expected a number in [0, 1], found {FusionWeight.ToString(CultureInfo.InvariantCulture)}");
        }
        if (BatchSize < 1)
        {
            throw new SkimConfigException($"batch_size: expected a positive number of rows, found {BatchSize}");
        }
        if (!(FusionBeta >= 0) || double.IsInfinity(FusionBeta))
        {
            throw new SkimConfigException($"fusion_beta: expected a number >= 0, found {FusionBeta.ToString(CultureInfo.InvariantCulture)}");
        }
        if (FusionSampleRows < 1)
        {
            throw new SkimConfigException($"fusion_sample_rows: expected a positive number of training rows, found {FusionSampleRows}");
        }
        if (FusionMinLeaf < 1)
        {
            throw new SkimConfigException($"fusion_min_leaf: expected a positive number of pairs, found {FusionMinLeaf}");
        }
        if (FusionDepth < 1)
        {
            throw new SkimConfigException($"fusion_depth: expected a positive tree depth, found {FusionDepth}");
        }
    }
}
