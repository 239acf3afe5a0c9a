using Skim.Core;

namespace Skim.Models.Encoders;

/// <summary>What <see cref="EmbeddingJob"/> embeds, with which model, and where the rows go.</summary>
public sealed record EmbeddingOptions
{
    /// <summary>Gets the model folder (config.json + weights; its tokenizer files are used for text input). Required.</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>
    /// Gets the input: a UTF-8 text file with one text per line (stripped, as NGAME does), or an NGAME
    /// token prefix <c>DIR/PREFIX</c> naming <c>PREFIX_input_ids.npy</c> and
    /// <c>PREFIX_attention_mask.npy</c> (int64 (N, L); the ids file's own path is accepted too). Required.
    /// </summary>
    public required string InputPath { get; init; }

    /// <summary>Gets the output <c>.npy</c> file: (N, D) rows in <see cref="OutputDType"/>. Required.</summary>
    public required string OutputPath { get; init; }

    /// <summary>Gets the tokenizer folder for text input. Defaults to null: the model folder.</summary>
    public string? TokenizerDirectory { get; init; }

    /// <summary>Gets the token limit per text input (special tokens included), as <c>skim tokenize --max-len</c>. Defaults to 32 (NGAME).</summary>
    public int MaxLength { get; init; } = 32;

    /// <summary>Gets the number of texts per forward pass. Defaults to 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Gets the pooling. Defaults to <see cref="PoolingMode.Mean"/>.</summary>
    public PoolingMode Pooling { get; init; } = PoolingMode.Mean;

    /// <summary>Gets whether rows are L2-normalised. Defaults to false.</summary>
    public bool Normalize { get; init; }

    /// <summary>Gets the dtype the model computes in: float32, bfloat16 or float16. Defaults to "float32".</summary>
    public string DType { get; init; } = "float32";

    /// <summary>Gets the dtype of the written rows: float32 or float16. Defaults to "float32".</summary>
    public string OutputDType { get; init; } = "float32";

    /// <summary>Gets the device: auto, cpu, cuda or cuda:N. Defaults to "auto".</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Gets a weight file to load instead of the model folder's own (e.g. NGAME's <c>ngame_state_dict.pt</c>). Defaults to null.</summary>
    public string? WeightsPath { get; init; }

    /// <summary>Gets the encoder options these options imply.</summary>
    public TextEncoderOptions EncoderOptions => new()
    {
        Pooling = Pooling,
        Normalize = Normalize,
        Device = Device,
        DType = DType,
        OutputDType = OutputDType,
        WeightsPath = WeightsPath,
        BatchSize = BatchSize,
    };

    /// <summary>Throws <see cref="SkimConfigException"/> naming the first invalid option (the files are checked when the job opens them).</summary>
    public void Validate()
    {
        if (MaxLength < 1)
        {
            throw new SkimConfigException($"--max-len {MaxLength}: expected a positive integer");
        }
        if (string.IsNullOrWhiteSpace(OutputPath) || Path.GetFileName(OutputPath).Length == 0)
        {
            throw new SkimConfigException($"--out '{OutputPath}': expected a file path such as emb.npy");
        }
        EncoderOptions.Validate();
    }
}
