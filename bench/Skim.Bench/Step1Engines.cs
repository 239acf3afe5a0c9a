using System.Diagnostics;
using Skim.Generate.Backends;
using Skim.Models.Devices;
using Skim.Models.Generation;
using Skim.Models.Llama;
using Skim.Models.Tokenization;

namespace Skim.Bench;

/// <summary>One timed generation: its wall time and what it produced.</summary>
/// <param name="Seconds">Wall time, tokenization and decoding of the text included.</param>
/// <param name="PromptTokens">Prompt tokens of all rows (BOS included).</param>
/// <param name="GeneratedTokens">New tokens of all rows.</param>
/// <param name="ShortRows">Rows that stopped before the new-token limit (EOS); 0 when the model is set up right.</param>
internal sealed record Step1Run(double Seconds, long PromptTokens, long GeneratedTokens, int ShortRows);

/// <summary>A step-1 engine configuration the <c>step1</c> scenario times: text prompts in, sampled continuations out.</summary>
internal interface IStep1Engine : IDisposable
{
    /// <summary>Generates <paramref name="newTokens"/> tokens for each prompt, <paramref name="batch"/> sequences at once (top-k 200, T 0.8, one seed per prompt).</summary>
    Step1Run Run(IReadOnlyList<string> prompts, int batch, int newTokens, CancellationToken ct);
}

/// <summary>
/// Skim's TorchSharp engine as <see cref="TorchGenerationBackend"/> runs it (the prompts tokenized,
/// <see cref="LlamaGenerator"/> with one seed per prompt), on a model loaded once for every row, and
/// without EOS so that every row generates all its tokens.
/// </summary>
internal sealed class Step1TorchEngine : IStep1Engine
{
    private readonly LlamaForCausalLM _model;
    private readonly ITextTokenizer _tokenizer;
    private readonly LlamaGenerator _generator;

    public Step1TorchEngine(string modelDirectory, string dtype)
    {
        _tokenizer = TokenizerLoader.Load(modelDirectory);
        _model = LlamaForCausalLM.FromPretrained(modelDirectory, TorchDevices.ParseDevice("cpu"), TorchDevices.ParseDType(dtype));
        _generator = new LlamaGenerator(_model, _tokenizer);
    }

    public Step1Run Run(IReadOnlyList<string> prompts, int batch, int newTokens, CancellationToken ct)
    {
        var options = new GenerationOptions { MaxNewTokens = newTokens, Temperature = 0.8, TopK = 200, Seed = 1, EosTokenIds = [], BatchSize = batch };
        var clock = Stopwatch.StartNew();
        var ids = prompts.Select(p => (IReadOnlyList<int>)_tokenizer.Encode(p, addSpecialTokens: true)).ToList();
        var sequences = _generator.Generate(ids, [.. Enumerable.Range(1, prompts.Count).Select(i => (long)i)], options, ct);
        var seconds = clock.Elapsed.TotalSeconds;
        return new Step1Run(seconds, sequences.Sum(s => (long)s.PromptTokenCount), sequences.Sum(s => (long)s.GeneratedTokenCount), sequences.Count(s => s.GeneratedTokenCount < newTokens));
    }

    public void Dispose() => _model.Dispose();
}

/// <summary>
/// Skim's llama.cpp engine, <see cref="LlamaSharpBackend"/> itself over a GGUF file: a fresh backend
/// per run (its slots and token limit are fixed when it is made), loaded before the clock starts.
/// </summary>
internal sealed class Step1LlamaEngine(string ggufPath, int threads, int contextSize) : IStep1Engine
{
    public Step1Run Run(IReadOnlyList<string> prompts, int batch, int newTokens, CancellationToken ct)
    {
        using var backend = new LlamaSharpBackend(new LlamaSharpBackendOptions
        {
            GgufPath = ggufPath,
            Threads = threads,
            BatchSize = batch,
            ContextSize = contextSize,
            MaxNewTokens = newTokens,
            Temperature = 0.8,
            TopK = 200,
            Seed = 1,
        });
        var requests = prompts.Select((p, i) => new BackendRequest(i, p, i + 1)).ToList();
        var clock = Stopwatch.StartNew();
        var outputs = backend.GenerateAsync(requests, ct).GetAwaiter().GetResult();
        var seconds = clock.Elapsed.TotalSeconds;
        return new Step1Run(seconds, outputs.Sum(o => (long)o.PromptTokens), outputs.Sum(o => (long)o.GeneratedTokens), outputs.Count(o => o.GeneratedTokens < newTokens));
    }

    public void Dispose()
    {
        // Each run disposes its own backend.
    }
}
