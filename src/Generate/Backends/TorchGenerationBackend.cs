using System.Globalization;
using Skim.Generate.Step1;
using Skim.Models.Devices;
using Skim.Models.Generation;
using Skim.Models.Llama;
using Skim.Models.Tokenization;

namespace Skim.Generate.Backends;

/// <summary>
/// Step-1's TorchSharp engine: the checkpoint in float32 or bfloat16, <see cref="LlamaGenerator"/>'s
/// batched left-padded decoding with a KV cache, one seed per prompt (so an item's text does not
/// depend on its batch), and a batch that halves on out-of-memory instead of failing the run.
/// </summary>
public sealed class TorchGenerationBackend : IGenerationBackend
{
    private readonly LlamaForCausalLM _model;
    private readonly ITextTokenizer _tokenizer;
    private readonly LlamaGenerator _generator;
    private readonly GenerationOptions _options;
    private readonly AdaptiveBatching _batching;

    /// <summary>Loads the checkpoint in <paramref name="modelDirectory"/> with its tokenizer.</summary>
    /// <param name="modelDirectory">A Hugging Face Llama-family checkpoint folder with tokenizer files.</param>
    /// <param name="options">Sampling, lengths and stops; <see cref="GenerationOptions.BatchSize"/> is the largest piece decoded at once.</param>
    /// <param name="device">auto, cpu, cuda or cuda:N.</param>
    /// <param name="dtype">float32 or bfloat16.</param>
    /// <param name="threads">CPU threads for libtorch (0 = its default).</param>
    /// <exception cref="Skim.Core.SkimFormatException">The checkpoint or its tokenizer is missing or malformed.</exception>
    public TorchGenerationBackend(string modelDirectory, GenerationOptions options, string device = "auto", string dtype = "float32", int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (threads > 0)
        {
            TorchSharp.torch.set_num_threads(threads);
        }
        var parsedDevice = TorchDevices.ParseDevice(device);
        var parsedDType = TorchDevices.ParseDType(dtype);
        _tokenizer = TokenizerLoader.Load(modelDirectory);
        _model = LlamaForCausalLM.FromPretrained(modelDirectory, parsedDevice, parsedDType);
        _generator = new LlamaGenerator(_model, _tokenizer);
        _options = options;
        _batching = new AdaptiveBatching(options.BatchSize);
        var threadText = threads > 0 ? string.Create(CultureInfo.InvariantCulture, $", {threads} threads") : "";
        Description = $"torch {_model.Config.ModelType} ({_model.Config.NumHiddenLayers} layers), {TorchDevices.DTypeName(parsedDType)} on {parsedDevice}{threadText}";
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>Gets the largest piece decoded at once now (smaller than the batch size after out-of-memory).</summary>
    public int BatchLimit => _batching.Limit;

    /// <summary>Makes the engine step-1's options describe.</summary>
    public static IGenerationBackend FromStep1Options(Step1Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new TorchGenerationBackend(options.ModelDirectory, options.Generation(), options.Device, options.DType, options.Threads);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<BackendOutput>> GenerateAsync(IReadOnlyList<BackendRequest> batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        // Decoding is compute-bound native work; it leaves the caller's thread free (progress, cancellation).
        return Task.Run<IReadOnlyList<BackendOutput>>(() => _batching.Run(batch, piece => Generate(piece, ct), ct), ct);
    }

    /// <inheritdoc/>
    public void Dispose() => _model.Dispose();

    private List<BackendOutput> Generate(IReadOnlyList<BackendRequest> piece, CancellationToken ct)
    {
        var prompts = piece.Select(r => (IReadOnlyList<int>)_tokenizer.Encode(r.Prompt, addSpecialTokens: true)).ToList();
        var sequences = _generator.Generate(prompts, [.. piece.Select(r => r.Seed)], _options, ct);
        return [.. piece.Select((request, i) => new BackendOutput(
            request.Item,
            sequences[i].Text ?? "",
            sequences[i].PromptTokenCount,
            sequences[i].GeneratedTokenCount,
            sequences[i].Finish == FinishReason.Length ? "length" : "stop"))];
    }
}
