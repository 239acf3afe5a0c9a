using Skim.Models.Devices;

namespace Skim.Models.Encoders;

/// <summary>How <see cref="TextEncoder"/> loads a model and turns token batches into embeddings.</summary>
public sealed record TextEncoderOptions
{
    /// <summary>Gets the pooling. Defaults to <see cref="PoolingMode.Mean"/> (NGAME, sentence-transformers).</summary>
    public PoolingMode Pooling { get; init; } = PoolingMode.Mean;

    /// <summary>Gets whether embeddings are L2-normalised (after the optional projection). Defaults to false.</summary>
    public bool Normalize { get; init; }

    /// <summary>Gets the device: auto, cpu, cuda or cuda:N. Defaults to "auto".</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Gets the dtype the model computes in: float32, bfloat16 or float16. Defaults to "float32".</summary>
    public string DType { get; init; } = "float32";

    /// <summary>Gets the dtype of returned embeddings: float32 or float16. Defaults to "float32".</summary>
    public string OutputDType { get; init; } = "float32";

    /// <summary>
    /// Gets the weight file to load instead of the folder's own (e.g. NGAME's <c>ngame_state_dict.pt</c>
    /// beside the config.json of msmarco-distilbert-base-v4). Defaults to null: the folder's
    /// model.safetensors(.index.json), else pytorch_model.bin, else its one *.pt/*.pth file.
    /// </summary>
    public string? WeightsPath { get; init; }

    /// <summary>Gets the number of texts embedded per forward pass by the span-based helpers. Defaults to 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Checks the option values, naming the offending option.</summary>
    public void Validate()
    {
        TorchDevices.ParseDType(DType);
        var output = TorchDevices.ParseDType(OutputDType, "--output-dtype");
        if (output == TorchSharp.torch.ScalarType.BFloat16)
        {
            throw new Core.SkimConfigException("--output-dtype 'bfloat16': expected float32 or float16 (numpy has no bfloat16)");
        }
        if (BatchSize <= 0)
        {
            throw new Core.SkimConfigException($"--batch-size {BatchSize}: expected a positive integer");
        }
    }
}
