using Skim.Core;

namespace Skim.Models.Tokenization;

/// <summary>Options of <see cref="TokenFileWriter"/>: which texts, how wide, where to.</summary>
public sealed record TokenFileOptions
{
    /// <summary>Gets the input: UTF-8 text, one text per line (each line stripped, as NGAME does). Required.</summary>
    public required string InputPath { get; init; }

    /// <summary>
    /// Gets the output prefix <c>DIR/PREFIX</c>; the files are <c>PREFIX_input_ids.npy</c> and
    /// <c>PREFIX_attention_mask.npy</c> (NGAME's names). Required.
    /// </summary>
    public required string OutputPrefix { get; init; }

    /// <summary>Gets the row width: texts are truncated and padded to it, special tokens included. Defaults to 32.</summary>
    public int MaxLength { get; init; } = 32;

    /// <summary>Gets the number of texts tokenized together by one worker. Defaults to 2048.</summary>
    public int BatchSize { get; init; } = 2048;

    /// <summary>Gets the number of batches tokenized at once. Defaults to the processor count.</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Gets the path of the ids file.</summary>
    public string InputIdsPath => OutputPrefix + "_input_ids.npy";

    /// <summary>Gets the path of the attention-mask file.</summary>
    public string AttentionMaskPath => OutputPrefix + "_attention_mask.npy";

    /// <summary>Throws <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (MaxLength < 1)
        {
            throw new SkimConfigException($"max_len: must be at least 1, found {MaxLength}");
        }
        if (BatchSize < 1)
        {
            throw new SkimConfigException($"batch_size: must be at least 1, found {BatchSize}");
        }
        if (Parallelism < 1)
        {
            throw new SkimConfigException($"parallelism: must be at least 1, found {Parallelism}");
        }
        if (string.IsNullOrWhiteSpace(OutputPrefix) || Path.GetFileName(OutputPrefix).Length == 0)
        {
            throw new SkimConfigException($"out: expected DIR/PREFIX, found '{OutputPrefix}'");
        }
        if (!File.Exists(InputPath))
        {
            throw new SkimConfigException($"input: file not found: {InputPath}");
        }
    }
}
