using System.Globalization;
using Skim.Core;

namespace Skim.XcTrain.Training;

/// <summary>The XC model families <see cref="XcTrainer"/> trains.</summary>
public enum XcModelKind
{
    /// <summary>NGAME's M1: a shared Siamese encoder, triplet loss with online hard negatives, clustered batches.</summary>
    Ngame,

    /// <summary>DEXML: a shared dual encoder with a softmax-family loss over the batch's label columns.</summary>
    Dexml,
}

/// <summary>The losses a dual encoder trains with (xc-reference §3.4).</summary>
public enum DualEncoderLossKind
{
    /// <summary>InfoNCE over every label column (other positives stay in the denominator).</summary>
    Softmax,

    /// <summary>DEXML's loss: every positive is removed from the negatives of each positive's softmax.</summary>
    DecoupledSoftmax,

    /// <summary>SoftTopK: the probability of a positive being in a smooth top-K.</summary>
    SoftTopK,
}

/// <summary>What stands for a label on the label side of training.</summary>
public enum LabelFeatureKind
{
    /// <summary>Label text when the dataset has any, else a learnable table.</summary>
    Auto,

    /// <summary>The encoder's embedding of the label text (NGAME's and DEXML's default).</summary>
    Text,

    /// <summary>A learnable label embedding table (<see cref="LabelTable"/>), the label texts unused.</summary>
    Table,
}

/// <summary>What <see cref="XcTrainer.RunAsync"/> trains, on what, and how (<c>skim train</c>).</summary>
public sealed record XcTrainOptions
{
    /// <summary>The encoder used when none is given: a tiny DistilBERT with a vocabulary trained on the dataset's texts.</summary>
    public const string DefaultEncoder = "init:distilbert-tiny";

    /// <summary>The prefix of <see cref="Encoder"/> that creates a randomly initialised encoder (<c>init:ARCH-PRESET</c>).</summary>
    public const string InitPrefix = "init:";

    /// <summary>Gets the dataset folder (DEXML or XC layout). Required.</summary>
    public required string DatasetDirectory { get; init; }

    /// <summary>Gets the run folder: checkpoints, the trained encoder, logs and the manifest go there. Required.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>
    /// Gets the train matrix to train on instead of the dataset's (e.g. SKIM's <c>trn_X_Y_skim.npz</c>;
    /// <c>.npz</c> or XC text); its rows are the dataset's train points. Defaults to null: the dataset's.
    /// </summary>
    public string? TrainMatrixPath { get; init; }

    /// <summary>Gets the model family. Defaults to <see cref="XcModelKind.Dexml"/>.</summary>
    public XcModelKind Model { get; init; } = XcModelKind.Dexml;

    /// <summary>Gets the dual-encoder loss (DEXML only). Defaults to <see cref="DualEncoderLossKind.DecoupledSoftmax"/>.</summary>
    public DualEncoderLossKind Loss { get; init; } = DualEncoderLossKind.DecoupledSoftmax;

    /// <summary>Gets the negative sampler of the dual encoder (DEXML only): in-batch, mixed, batch-mix, cross-batch, cross-batch-mixed or mixed-bayesian. Defaults to in-batch.</summary>
    public string Sampler { get; init; } = "in-batch";

    /// <summary>Gets the labels the mixed kinds draw uniformly per step, and the synthetic columns batch-mix makes. Defaults to 256.</summary>
    public int SamplerNegatives { get; init; } = 256;

    /// <summary>Gets the label embeddings the cross-batch kinds remember (their FIFO memory). Defaults to 2048.</summary>
    public int SamplerQueueSize { get; init; } = 2048;

    /// <summary>Gets the encoder: a Hugging Face BERT/DistilBERT folder, a run folder of <c>skim train</c>, or <c>init:ARCH-PRESET</c> (e.g. <c>init:distilbert-tiny</c>). Defaults to <c>init:distilbert-tiny</c>.</summary>
    public string Encoder { get; init; } = DefaultEncoder;

    /// <summary>Gets the pooling: mean or cls; null takes the model family's (NGAME mean, DEXML cls). Defaults to null.</summary>
    public string? Pooling { get; init; }

    /// <summary>Gets whether embeddings are L2-normalised, so scores are cosines. Defaults to true.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Gets the softmax temperature of the dual-encoder losses (scores are divided by it). Defaults to 0.05 (DEXML).</summary>
    public double Temperature { get; init; } = 0.05;

    /// <summary>Gets the triplet margin (NGAME). Defaults to 0.3.</summary>
    public double Margin { get; init; } = 0.3;

    /// <summary>Gets the number of hardest in-batch negatives per row in NGAME's triplet loss. Defaults to 10.</summary>
    public int HardNegatives { get; init; } = 10;

    /// <summary>Gets K of the SoftTopK loss. Defaults to 5.</summary>
    public double SoftTopK { get; init; } = 5;

    /// <summary>
    /// Gets the hard negatives each row draws per step from its shortlist (DEXML's hard-negative
    /// mode): the labels the current model ranks highest for the row, its positives removed, mined
    /// from <see cref="ShortlistStartEpoch"/> on every <see cref="ShortlistInterval"/> epochs. 0 keeps
    /// in-batch negatives only. Defaults to 0.
    /// </summary>
    public int ShortlistNegatives { get; init; }

    /// <summary>Gets the labels kept per row in the mined shortlist. Defaults to 100 (DEXML's hard_neg_topk).</summary>
    public int ShortlistSize { get; init; } = 100;

    /// <summary>Gets the epoch (1-based) after which the first shortlist is mined. Defaults to 1.</summary>
    public int ShortlistStartEpoch { get; init; } = 1;

    /// <summary>Gets how often, in epochs, the shortlist is mined again. Defaults to 1.</summary>
    public int ShortlistInterval { get; init; } = 1;

    /// <summary>Gets the positives drawn per row per step, in proportion to relevance. Defaults to 1.</summary>
    public int PositivesPerRow { get; init; } = 1;

    /// <summary>Gets the number of epochs. Defaults to 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Gets the rows per step. Defaults to 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Gets the steps whose gradients are summed before one optimizer update. Defaults to 1.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Gets the peak learning rate. Defaults to 1e-4.</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Gets the share of optimizer updates spent warming up linearly before the linear decay to 0. Defaults to 0.1.</summary>
    public double WarmupFraction { get; init; } = 0.1;

    /// <summary>Gets the AdamW weight decay (not applied to biases and LayerNorm weights). Defaults to 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>
    /// Gets what stands for a label: text (encoded label texts), table (a learnable embedding per label)
    /// or auto, which is text when the dataset has a non-empty label text and table otherwise. Defaults to auto.
    /// </summary>
    public LabelFeatureKind LabelFeatures { get; init; } = LabelFeatureKind.Auto;

    /// <summary>
    /// Gets the peak learning rate of the label table (same warm-up and decay as the encoder's; no
    /// weight decay). A free vector per label moves much further per step than a shared encoder, so it
    /// trains at a higher rate. Defaults to 1e-2.
    /// </summary>
    public double LabelTableLearningRate { get; init; } = 1e-2;

    /// <summary>Gets the token length of texts (special tokens included). Defaults to 32.</summary>
    public int MaxLength { get; init; } = 32;

    /// <summary>
    /// Gets the label rows encoded at once in gradient caching: the label side is encoded without
    /// graph first, the loss's gradient with respect to the label embeddings is taken, then each
    /// chunk is re-encoded with the same dropout and back-propagated. 0 turns caching off. Defaults to 0.
    /// </summary>
    public int LabelChunkSize { get; init; }

    /// <summary>Gets the share of train points held out for validation (never the test split). Defaults to 0.1.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Gets the epochs at which NGAME's cluster size doubles (the first also starts clustering). Defaults to 2, 4, 6, 8.</summary>
    public IReadOnlyList<int> ClusterEpochs { get; init; } = [2, 4, 6, 8];

    /// <summary>Gets how often (in epochs) NGAME re-clusters its stale embeddings once clustering has started. Defaults to 1.</summary>
    public int ClusterRefreshInterval { get; init; } = 1;

    /// <summary>Gets the device: auto, cpu, cuda or cuda:N. Defaults to auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Gets the seed of every random choice (initialisation, splits, batches, dropout). Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets whether a run folder holding a checkpoint continues from it. Defaults to false.</summary>
    public bool Resume { get; init; }

    /// <summary>Gets the token cache folder; null keeps it in the run folder. Defaults to null.</summary>
    public string? TokenCacheDirectory { get; init; }

    /// <summary>
    /// Gets the dtype the encoder computes in: float32, or bfloat16 for mixed precision (bf16 forward
    /// and backward, float32 master weights in the optimizer, float32 losses; no loss scaling needed).
    /// The saved encoder is float32 either way. bf16 pays off on GPUs and CPUs with bf16 matmuls.
    /// Defaults to float32.
    /// </summary>
    public string DType { get; init; } = "float32";

    /// <summary>Gets the threads for CPU math; 0 leaves libtorch's default. Defaults to 0.</summary>
    public int Threads { get; init; }

    /// <summary>Gets the token cache folder in use.</summary>
    public string ResolvedTokenCacheDirectory => TokenCacheDirectory ?? Path.Combine(OutputDirectory, "tokens");

    /// <summary>
    /// Gets the files and folders the training reads: the dataset, the train matrix when it is not the
    /// dataset's, and the starting encoder when it is a folder (a mapping encoder, a pretrained model).
    /// </summary>
    public IReadOnlyList<string> InputPaths()
    {
        var paths = new List<string> { DatasetDirectory };
        if (TrainMatrixPath is { } matrix)
        {
            paths.Add(matrix);
        }
        if (!Encoder.StartsWith(InitPrefix, StringComparison.Ordinal))
        {
            paths.Add(Encoder);
        }
        return paths;
    }

    /// <summary>Gets the pooling in use.</summary>
    public string ResolvedPooling => Pooling ?? (Model == XcModelKind.Ngame ? "mean" : "cls");

    /// <summary>Parses a model family: ngame or dexml.</summary>
    public static XcModelKind ParseModel(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "ngame" => XcModelKind.Ngame,
        "dexml" => XcModelKind.Dexml,
        _ => throw new SkimConfigException($"model: expected ngame or dexml, found \"{value}\""),
    };

    /// <summary>Parses a label-feature kind: auto, text or table.</summary>
    public static LabelFeatureKind ParseLabelFeatures(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "auto" => LabelFeatureKind.Auto,
        "text" => LabelFeatureKind.Text,
        "table" => LabelFeatureKind.Table,
        _ => throw new SkimConfigException($"label_features: expected auto, text or table, found \"{value}\""),
    };

    /// <summary>Parses a dual-encoder loss: softmax, decoupled-softmax or soft-topk.</summary>
    public static DualEncoderLossKind ParseLoss(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "softmax" => DualEncoderLossKind.Softmax,
        "decoupled-softmax" => DualEncoderLossKind.DecoupledSoftmax,
        "soft-topk" or "topk" => DualEncoderLossKind.SoftTopK,
        _ => throw new SkimConfigException($"loss: expected softmax, decoupled-softmax or soft-topk, found \"{value}\""),
    };

    /// <summary>The kebab-case name of a loss, as <see cref="ParseLoss"/> reads it.</summary>
    public static string LossName(DualEncoderLossKind loss) => loss switch
    {
        DualEncoderLossKind.Softmax => "softmax",
        DualEncoderLossKind.DecoupledSoftmax => "decoupled-softmax",
        _ => "soft-topk",
    };

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        static void Positive(string key, double value)
        {
            if (!(value > 0) || double.IsInfinity(value))
            {
                throw new SkimConfigException($"{key}: expected a positive number, found {value.ToString(CultureInfo.InvariantCulture)}");
            }
        }
        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new SkimConfigException("out: expected a run folder, found an empty value");
        }
        Positive("epochs", Epochs);
        Positive("batch_size", BatchSize);
        Positive("gradient_accumulation", GradientAccumulation);
        Positive("learning_rate", LearningRate);
        Positive("label_table_learning_rate", LabelTableLearningRate);
        Positive("temperature", Temperature);
        Positive("max_length", MaxLength);
        Positive("positives_per_row", PositivesPerRow);
        Positive("hard_negatives", HardNegatives);
        Positive("soft_topk", SoftTopK);
        Positive("sampler_negatives", SamplerNegatives);
        Positive("sampler_queue_size", SamplerQueueSize);
        if (BatchSize < 2)
        {
            throw new SkimConfigException($"batch_size: expected at least 2 (in-batch negatives need another row), found {BatchSize}");
        }
        if (MaxLength < 3)
        {
            throw new SkimConfigException($"max_length: expected at least 3 (two special tokens and a word), found {MaxLength}");
        }
        if (!(WarmupFraction >= 0 && WarmupFraction < 1))
        {
            throw new SkimConfigException($"warmup_fraction: expected a number in [0, 1), found {WarmupFraction.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
        {
            throw new SkimConfigException($"weight_decay: expected a number >= 0, found {WeightDecay.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
        {
            throw new SkimConfigException($"validation_fraction: expected a number in [0, 1), found {ValidationFraction.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!(Margin >= 0) || double.IsInfinity(Margin))
        {
            throw new SkimConfigException($"margin: expected a number >= 0, found {Margin.ToString(CultureInfo.InvariantCulture)}");
        }
        if (ShortlistNegatives < 0)
        {
            throw new SkimConfigException($"shortlist_negatives: expected 0 (off) or a positive number, found {ShortlistNegatives}");
        }
        Positive("shortlist_size", ShortlistSize);
        Positive("shortlist_start_epoch", ShortlistStartEpoch);
        Positive("shortlist_interval", ShortlistInterval);
        if (LabelChunkSize < 0)
        {
            throw new SkimConfigException($"label_chunk_size: expected 0 (off) or a positive number of rows, found {LabelChunkSize}");
        }
        if (ClusterRefreshInterval < 1)
        {
            throw new SkimConfigException($"cluster_refresh_interval: expected a positive number of epochs, found {ClusterRefreshInterval}");
        }
        if (ClusterEpochs.Any(e => e < 1) || ClusterEpochs.Zip(ClusterEpochs.Skip(1)).Any(p => p.First >= p.Second))
        {
            throw new SkimConfigException($"cluster_epochs: expected ascending positive epochs, found [{string.Join(", ", ClusterEpochs)}]");
        }
        if (Threads < 0)
        {
            throw new SkimConfigException($"threads: expected 0 (default) or a positive number, found {Threads}");
        }
        _ = Skim.Models.Encoders.Pooling.Parse(ResolvedPooling, "pooling");
        if (DType is not ("float32" or "bfloat16"))
        {
            // float16 would need loss scaling (a GradScaler), which TorchSharp does not have.
            throw new SkimConfigException($"dtype: expected float32 or bfloat16, found \"{DType}\"");
        }
    }
}
