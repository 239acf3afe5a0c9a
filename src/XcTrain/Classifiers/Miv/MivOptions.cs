using System.Globalization;
using Skim.Core;

namespace Skim.XcTrain.Classifiers.Miv;

/// <summary>
/// What <see cref="MivTrainer.RunAsync"/> trains (<c>skim classifier train</c>): NGAME's M-IV extreme
/// classifier, one vector per label over the frozen encoder of a <c>skim train</c> run
/// (xc-reference §4.5). Defaults follow NGAME's <c>extreme</c> config, scaled for a CPU: fewer epochs,
/// a smaller batch, and a warm-up given as a share of the updates rather than 500 steps.
/// </summary>
public sealed record MivOptions
{
    /// <summary>The folder inside the run that the classifier goes to when no output folder is given.</summary>
    public const string DefaultFolderName = "classifier";

    /// <summary>Gets the run folder of <c>skim train</c> (its <c>encoder/</c> and manifest). Required.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>Gets the dataset folder; null takes the one the run trained on. Defaults to null.</summary>
    public string? DatasetDirectory { get; init; }

    /// <summary>
    /// Gets the train matrix (.npz or XC text) whose positives the classifier learns, e.g. SKIM's
    /// <c>trn_X_Y_skim.npz</c>; any stored value above 0 is a positive. Null takes the run's (the one
    /// its encoder trained on, else the dataset's). Defaults to null.
    /// </summary>
    public string? TrainMatrixPath { get; init; }

    /// <summary>Gets the output folder; null writes <c>classifier/</c> inside the run. Defaults to null.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Gets the number of epochs. Defaults to 20 (NGAME: 100 on 295K points).</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Gets the train points per step. Defaults to 256 (NGAME: 2048).</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Gets the peak learning rate of the sparse Adam update. Defaults to 1e-3 (NGAME).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Gets the share of updates spent warming up linearly before the linear decay to 0. Defaults to 0.1.</summary>
    public double WarmupFraction { get; init; } = 0.1;

    /// <summary>Gets the dropout on the frozen point embeddings during training. Defaults to 0.5 (NGAME's transform_doc).</summary>
    public double Dropout { get; init; } = 0.5;

    /// <summary>Gets the hard labels shortlisted per train point (exact top-k over the classifier vectors). Defaults to 32.</summary>
    public int ShortlistSize { get; init; } = 32;

    /// <summary>
    /// Gets how often, in epochs, the shortlist is mined again over the current classifier vectors;
    /// the first, before epoch 1, is over the label embeddings the vectors start from. Defaults to 5
    /// (NGAME's sampling refresh interval).
    /// </summary>
    public int ShortlistRefreshInterval { get; init; } = 5;

    /// <summary>Gets the hinge margin. Defaults to 0.2 (NGAME M-IV).</summary>
    public double Margin { get; init; } = 0.2;

    /// <summary>Gets the hardest (lowest-scoring) positives per point in the loss. Defaults to 3 (NGAME's loss_num_positives).</summary>
    public int LossPositives { get; init; } = 3;

    /// <summary>Gets the hardest negatives per point in the loss. Defaults to 5 (NGAME's loss_num_negatives).</summary>
    public int LossNegatives { get; init; } = 5;

    /// <summary>
    /// Gets the share of the labelled train points kept out of training, on which prediction fits the
    /// fusion tree (their classifier scores are honest, as a test point's are). Decision: NGAME fits
    /// its fusion on rows the classifier trained on, whose scores are optimistic; 0 does the same.
    /// Defaults to 0.1.
    /// </summary>
    public double FusionHoldoutFraction { get; init; } = 0.1;

    /// <summary>Gets the rows embedded at once when the frozen embeddings are computed. Defaults to 256.</summary>
    public int EmbedBatchSize { get; init; } = 256;

    /// <summary>Gets the seed of every random choice (batch order, dropout). Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the device: auto, cpu, cuda or cuda:N. Defaults to auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Gets whether an output folder holding a checkpoint continues from it. Defaults to false.</summary>
    public bool Resume { get; init; }

    /// <summary>Gets the output folder in use.</summary>
    public string ResolvedOutputDirectory => OutputDirectory ?? Path.Combine(RunDirectory, DefaultFolderName);

    /// <summary>Gets the files and folders the training reads: the run's encoder and manifest, the dataset and the train matrix when given.</summary>
    public IReadOnlyList<string> InputPaths()
    {
        var paths = new List<string> { Path.Combine(RunDirectory, "encoder"), Path.Combine(RunDirectory, "manifest.json") };
        if (DatasetDirectory is { } dataset)
        {
            paths.Add(dataset);
        }
        if (TrainMatrixPath is { } matrix)
        {
            paths.Add(matrix);
        }
        return paths;
    }

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        static void Positive(string key, long value)
        {
            if (value < 1)
            {
                throw new SkimConfigException($"{key}: expected a positive number, found {value}");
            }
        }
        if (string.IsNullOrWhiteSpace(RunDirectory))
        {
            throw new SkimConfigException("run_directory: expected the run folder of skim train, found an empty value");
        }
        Positive("epochs", Epochs);
        Positive("batch_size", BatchSize);
        Positive("shortlist_size", ShortlistSize);
        Positive("shortlist_refresh_interval", ShortlistRefreshInterval);
        Positive("loss_positives", LossPositives);
        Positive("loss_negatives", LossNegatives);
        Positive("embed_batch_size", EmbedBatchSize);
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
        {
            throw new SkimConfigException($"learning_rate: expected a positive number, found {LearningRate.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!(WarmupFraction >= 0 && WarmupFraction < 1))
        {
            throw new SkimConfigException($"warmup_fraction: expected a number in [0, 1), found {WarmupFraction.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!(FusionHoldoutFraction >= 0 && FusionHoldoutFraction < 1))
        {
            throw new SkimConfigException($"fusion_holdout_fraction: expected a share in [0, 1), found {FusionHoldoutFraction.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!(Dropout >= 0 && Dropout < 1))
        {
            throw new SkimConfigException($"dropout: expected a probability in [0, 1), found {Dropout.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!(Margin >= 0) || double.IsInfinity(Margin))
        {
            throw new SkimConfigException($"margin: expected a number >= 0, found {Margin.ToString(CultureInfo.InvariantCulture)}");
        }
    }
}
