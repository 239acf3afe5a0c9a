using System.Globalization;
using Skim.Core;
using Skim.Models.Devices;
using Skim.Models.Lora;

namespace Skim.Distill.FineTuning;

/// <summary>Whether fine-tuning trains LoRA adapters or every weight.</summary>
public enum FineTuneMethod
{
    /// <summary>Low-rank adapters on the targeted projections; the base weights stay frozen.</summary>
    Lora,

    /// <summary>Every weight of the model is trained.</summary>
    Full,
}

/// <summary>
/// Supervised fine-tuning of a small Llama-family model on step-0's prompt → response pairs
/// (<c>sft/train.json</c>, <c>sft/val.json</c>). Defaults are the SKIM paper's LoRA recipe
/// (litgpt's <c>finetune lora</c>): r 8, alpha 16, dropout 0.05 on the attention and MLP
/// projections, global batch 64 from micro batches of 2, 3 epochs, AdamW (0.9, 0.95) with weight
/// decay 0.01, learning rate 3e-4 warmed up over 100 steps then cosine-decayed to 3e-5.
/// Every property is a plain value so that CLI flags and pipeline YAML keys map onto it directly.
/// </summary>
/// <remarks>
/// Sequences longer than <see cref="MaxSequenceLength"/> are dropped and counted rather than cut:
/// the SFT builder already trims item metadata to a token budget, and a prompt cut at an arbitrary
/// token would teach the model from text it will never see at generation time.
/// </remarks>
public sealed record FineTuneOptions
{
    /// <summary>Gets the folder holding <c>train.json</c> and <c>val.json</c> (alpaca fields: instruction, input, output).</summary>
    public required string SftDirectory { get; init; }

    /// <summary>Gets the Hugging Face Llama-family model folder (config.json, weights and tokenizer files) to fine-tune.</summary>
    public required string BaseModelDirectory { get; init; }

    /// <summary>Gets the folder receiving the merged checkpoint, adapter/, train_log.csv, loss.png, checkpoint/ and manifest.json.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Gets what is trained: LoRA adapters or every weight. Defaults to <see cref="FineTuneMethod.Lora"/>.</summary>
    public FineTuneMethod Method { get; init; } = FineTuneMethod.Lora;

    /// <summary>Gets the LoRA rank r. Defaults to 8.</summary>
    public int LoraRank { get; init; } = 8;

    /// <summary>Gets LoRA's alpha (the update is scaled by alpha / r). Defaults to 16.</summary>
    public double LoraAlpha { get; init; } = 16;

    /// <summary>Gets the dropout on the adapters' input while training. Defaults to 0.05.</summary>
    public double LoraDropout { get; init; } = 0.05;

    /// <summary>
    /// Gets the projections that get adapters (HF names: q_proj, k_proj, v_proj, o_proj, gate_proj,
    /// up_proj, down_proj, lm_head). Defaults to the attention and MLP projections.
    /// </summary>
    public IReadOnlyList<string> LoraTargets { get; init; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>Gets the passes over the training pairs. Defaults to 3.</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Gets the sequences per forward/backward pass. Defaults to 2.</summary>
    public int MicroBatchSize { get; init; } = 2;

    /// <summary>Gets the sequences per optimizer step (a multiple of <see cref="MicroBatchSize"/>; gradients are accumulated over global / micro passes). Defaults to 64.</summary>
    public int GlobalBatchSize { get; init; } = 64;

    /// <summary>Gets the peak learning rate. Defaults to 3e-4.</summary>
    public double LearningRate { get; init; } = 3e-4;

    /// <summary>Gets the learning rate the cosine decay ends at. Defaults to 3e-5.</summary>
    public double MinLearningRate { get; init; } = 3e-5;

    /// <summary>Gets the optimizer steps of the linear warm-up from 0 to <see cref="LearningRate"/>. Defaults to 100.</summary>
    public int WarmupSteps { get; init; } = 100;

    /// <summary>Gets AdamW's decoupled weight decay, applied to weights of two or more dimensions only. Defaults to 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Gets AdamW's beta1. Defaults to 0.9.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Gets AdamW's beta2. Defaults to 0.95.</summary>
    public double Beta2 { get; init; } = 0.95;

    /// <summary>Gets the gradient-norm clip (0 turns clipping off). Defaults to 1.</summary>
    public double GradientClip { get; init; } = 1.0;

    /// <summary>Gets the longest sequence (prompt + response + EOS, in tokens) trained on; longer pairs are dropped and counted. Defaults to 1024.</summary>
    public int MaxSequenceLength { get; init; } = 1024;

    /// <summary>Gets how often (in optimizer steps) the validation loss is computed; it is also computed before the first and after the last step. 0 evaluates only then. Defaults to 50.</summary>
    public int EvalEverySteps { get; init; } = 50;

    /// <summary>Gets how often (in optimizer steps) a resumable checkpoint is written; one is also written after the last step. Defaults to 50.</summary>
    public int CheckpointEverySteps { get; init; } = 50;

    /// <summary>Gets the seed of the adapters' initialisation, the data order and the dropout masks. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the device: auto, cpu, cuda or cuda:N. Defaults to "auto".</summary>
    public string Device { get; init; } = "auto";

    /// <summary>
    /// Gets the compute dtype: float32, or bfloat16 (meant for GPUs) where the model runs in bf16
    /// while the trained weights and AdamW keep float32 master copies, as mixed precision does.
    /// Defaults to "float32".
    /// </summary>
    public string DType { get; init; } = "float32";

    /// <summary>Gets the optimizer steps after which training stops early (the schedule still spans every epoch); null trains every epoch. Defaults to null.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Gets whether each global batch is sorted by length into micro batches so that they pad little. Defaults to true.</summary>
    public bool Bucketing { get; init; } = true;

    /// <summary>Gets whether checkpoint/ is kept after a finished run (it holds optimizer state, large for full fine-tuning). Defaults to false.</summary>
    public bool KeepCheckpoint { get; init; }

    /// <summary>Gets the gradient-accumulation count: global / micro batch.</summary>
    public int AccumulationSteps => GlobalBatchSize / Math.Max(1, MicroBatchSize);

    /// <summary>Gets the path of the training pairs.</summary>
    public string TrainPath => Path.Combine(SftDirectory, "train.json");

    /// <summary>Gets the path of the validation pairs.</summary>
    public string ValidationPath => Path.Combine(SftDirectory, "val.json");

    /// <summary>Gets the LoRA settings these options describe.</summary>
    public LoraOptions LoraOptions => new()
    {
        Rank = LoraRank,
        Alpha = LoraAlpha,
        Dropout = LoraDropout,
        TargetModules = LoraTargets,
        Seed = Seed,
    };

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(SftDirectory))
        {
            throw new SkimConfigException("sft_directory: expected a folder holding train.json and val.json");
        }
        if (string.IsNullOrWhiteSpace(BaseModelDirectory))
        {
            throw new SkimConfigException("base_model: expected a Hugging Face model folder");
        }
        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new SkimConfigException("out: expected a folder path");
        }
        if (!Enum.IsDefined(Method))
        {
            throw new SkimConfigException($"method: expected lora or full, found {Method}");
        }
        if (Method == FineTuneMethod.Lora)
        {
            LoraOptions.Validate();
        }
        Positive(Epochs, "epochs");
        Positive(MicroBatchSize, "micro_batch_size");
        Positive(GlobalBatchSize, "global_batch_size");
        if (GlobalBatchSize % MicroBatchSize != 0)
        {
            throw new SkimConfigException(Invariant($"global_batch_size: expected a multiple of micro_batch_size {MicroBatchSize}, found {GlobalBatchSize}"));
        }
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
        {
            throw new SkimConfigException(Invariant($"learning_rate: expected a positive number, found {LearningRate}"));
        }
        if (!(MinLearningRate >= 0 && MinLearningRate <= LearningRate))
        {
            throw new SkimConfigException(Invariant($"min_learning_rate: expected a number in [0, learning_rate {LearningRate}], found {MinLearningRate}"));
        }
        NonNegative(WarmupSteps, "warmup_steps");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
        {
            throw new SkimConfigException(Invariant($"weight_decay: expected a number >= 0, found {WeightDecay}"));
        }
        if (!(Beta1 >= 0 && Beta1 < 1))
        {
            throw new SkimConfigException(Invariant($"beta1: expected a number in [0, 1), found {Beta1}"));
        }
        if (!(Beta2 >= 0 && Beta2 < 1))
        {
            throw new SkimConfigException(Invariant($"beta2: expected a number in [0, 1), found {Beta2}"));
        }
        if (!(GradientClip >= 0) || double.IsInfinity(GradientClip))
        {
            throw new SkimConfigException(Invariant($"gradient_clip: expected a number >= 0 (0 = off), found {GradientClip}"));
        }
        if (MaxSequenceLength < 2)
        {
            throw new SkimConfigException(Invariant($"max_sequence_length: expected an integer >= 2, found {MaxSequenceLength}"));
        }
        NonNegative(EvalEverySteps, "eval_every_steps");
        NonNegative(CheckpointEverySteps, "checkpoint_every_steps");
        if (MaxSteps is < 1)
        {
            throw new SkimConfigException(Invariant($"max_steps: expected a positive integer, found {MaxSteps}"));
        }
        TorchDevices.ParseDType(DType, "dtype");
        if (TorchDevices.ParseDType(DType, "dtype") == TorchSharp.torch.ScalarType.Float16)
        {
            throw new SkimConfigException($"dtype '{DType}': expected float32 or bfloat16 (float16 training needs loss scaling, which is not supported)");
        }
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new SkimConfigException(Invariant($"{name}: expected a positive integer, found {value}"));
        }
    }

    private static void NonNegative(int value, string name)
    {
        if (value < 0)
        {
            throw new SkimConfigException(Invariant($"{name}: expected an integer >= 0, found {value}"));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
