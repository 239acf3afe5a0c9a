using System.Globalization;
using Skim.Core;
using Skim.Core.Datasets;

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

    /// <summary>Gets the weight of label retrieval in the fusion (instance kNN gets 1 − it). Defaults to 0.5.</summary>
    public double FusionWeight { get; init; } = 0.5;

    /// <summary>Gets where the score matrix goes; null writes <c>{split}_scores.npz</c> in the run folder. Defaults to null.</summary>
    public string? OutputPath { get; init; }

    /// <summary>Gets the device: auto, cpu, cuda or cuda:N. Defaults to auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Gets the rows embedded at once. Defaults to 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Gets the score file in use.</summary>
    public string ResolvedOutputPath => OutputPath ?? Path.Combine(RunDirectory, $"{XcDataset.NormalizeSplit(Split)}_scores.npz");

    /// <summary>Parses a method: label, instance or fusion.</summary>
    public static PredictionMethod ParseMethod(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "label" => PredictionMethod.Label,
        "instance" => PredictionMethod.Instance,
        "fusion" => PredictionMethod.Fusion,
        _ => throw new SkimConfigException($"method: expected label, instance or fusion, found \"{value}\""),
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
    }
}
