using Skim.Core;
using Skim.Models.Devices;

namespace Skim.Models.ModelFactory;

/// <summary>What <see cref="ModelInitializer"/> creates and where.</summary>
public sealed record ModelInitOptions
{
    /// <summary>The prefix of a <see cref="Tokenizer"/> value that trains a vocabulary from a corpus file.</summary>
    public const string TrainPrefix = "train:";

    /// <summary>Gets the architecture: llama, qwen2, mistral, bert or distilbert.</summary>
    public required string Architecture { get; init; }

    /// <summary>Gets the size: tiny, small, or an HF size name such as SmolLM-135M or bert-base-uncased.</summary>
    public required string Preset { get; init; }

    /// <summary>
    /// Gets the tokenizer: a folder whose tokenizer files are copied, or <c>train:CORPUS</c> to build a
    /// WordPiece (encoders) or byte-level BPE (decoders) vocabulary from a UTF-8 text file.
    /// </summary>
    public required string Tokenizer { get; init; }

    /// <summary>Gets the output folder; it must not exist or be empty unless <see cref="Force"/> is set.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Gets the target vocabulary size when training a tokenizer. Defaults to null: 1000.</summary>
    public int? VocabSize { get; init; }

    /// <summary>
    /// Gets the number of transformer layers, replacing the preset's (a model of a real size's width with
    /// fewer layers, e.g. for benchmarks and quick experiments). Defaults to null: the preset's.
    /// </summary>
    public int? Layers { get; init; }

    /// <summary>Gets the seed of the random initialisation. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the dtype the weights are created and stored in: float32, bfloat16 or float16. Defaults to "float32".</summary>
    public string DType { get; init; } = "float32";

    /// <summary>Gets whether a non-empty output folder is replaced. Defaults to false.</summary>
    public bool Force { get; init; }

    /// <summary>
    /// Gets the memory the creation may use, in bytes; larger models are refused before anything is
    /// allocated. Defaults to null: the memory the operating system reports as available.
    /// </summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>Gets whether <see cref="Tokenizer"/> asks for a trained vocabulary.</summary>
    public bool TrainsTokenizer => Tokenizer.StartsWith(TrainPrefix, StringComparison.Ordinal);

    /// <summary>Checks the values, naming the offending option in a <see cref="SkimConfigException"/>.</summary>
    public void Validate()
    {
        ModelPresets.Resolve(ModelPresets.ParseArchitecture(Architecture), Preset);
        TorchDevices.ParseDType(DType);
        if (Layers is < 1)
        {
            throw new SkimConfigException($"--layers {Layers}: expected a positive number of layers");
        }
        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new SkimConfigException("--out: expected a folder path");
        }
        if (string.IsNullOrWhiteSpace(Tokenizer) || Tokenizer == TrainPrefix)
        {
            throw new SkimConfigException($"--tokenizer '{Tokenizer}': expected a tokenizer folder or {TrainPrefix}CORPUS.txt");
        }
        if (VocabSize is not null && !TrainsTokenizer)
        {
            throw new SkimConfigException($"--vocab-size {VocabSize}: applies only when the tokenizer is trained (--tokenizer {TrainPrefix}CORPUS.txt); a tokenizer folder fixes its own size");
        }
        if (VocabSize is <= 0)
        {
            throw new SkimConfigException($"--vocab-size {VocabSize}: expected a positive integer");
        }
        if (MemoryLimitBytes is <= 0)
        {
            throw new SkimConfigException($"--max-memory {MemoryLimitBytes}: expected a positive number of bytes");
        }
    }
}
