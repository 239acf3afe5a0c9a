using System.Globalization;
using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;
using Skim.Core;
using Skim.Generate.Gguf;

namespace Skim.Generate.Backends;

/// <summary>
/// Step-1's llama.cpp engine (through LLamaSharp): one context holds up to
/// <see cref="LlamaSharpBackendOptions.BatchSize"/> sequences, each in its own KV-cache slice
/// (<c>kv_unified = false</c>, measured 10–15 % faster than one shared cache), and every decode call
/// carries one new token per generating sequence plus pending prompt tokens, built with LLamaSharp's
/// low-level batch API (measured ~20 % faster than its BatchedExecutor). A finished sequence's slot
/// takes the next prompt at once. Sampling is done here from the logits with one random stream per
/// item, so an item's text does not depend on the batch it shares.
/// </summary>
public sealed class LlamaSharpBackend : IGenerationBackend
{
    private readonly LlamaSharpBackendOptions _options;
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly SafeLlamaModelHandle.Vocabulary _vocab;
    private readonly int _vocabSize;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Loads the model (exporting and caching a GGUF first when a checkpoint folder is given) and creates the context.</summary>
    /// <exception cref="SkimConfigException">An option is invalid.</exception>
    /// <exception cref="SkimFormatException">The GGUF file is missing or llama.cpp cannot load it, or the checkpoint cannot be exported.</exception>
    public LlamaSharpBackend(LlamaSharpBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        LlamaSharpLogging.Use(options.Logger);
        var type = GgufTypes.Parse(options.Quant, "--quant");
        if (options.ModelDirectory is { } folder)
        {
            GgufPath = GgufExport.ExportCached(folder, type).Path;
            TypeName = type.Name();
        }
        else
        {
            GgufPath = Path.GetFullPath(options.GgufPath!);
            TypeName = "gguf";
            if (!File.Exists(GgufPath))
            {
                throw new SkimFormatException(GgufPath, null, "GGUF file not found");
            }
        }
        var threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        Threads = threads;
        var parameters = new ModelParams(GgufPath)
        {
            // Each sequence gets ContextSize cells of its own (llama.cpp rounds them up to 256).
            ContextSize = checked((uint)(options.ContextSize * options.BatchSize)),
            SeqMax = (uint)options.BatchSize,
            KVUnified = false,
            BatchSize = (uint)options.DecodeTokens,
            UBatchSize = (uint)options.DecodeTokens,
            Threads = threads,
            BatchThreads = threads,
            // FlashAttention is left null: llama.cpp's "auto", which turns it on (forcing it off cost 23 %).
            GpuLayerCount = options.GpuLayers < 0 ? 999 : options.GpuLayers,
        };
        try
        {
            _weights = LLamaWeights.LoadFromFile(parameters);
        }
        catch (Exception e) when (e is LLama.Exceptions.LoadWeightsFailedException or InvalidOperationException)
        {
            throw new SkimFormatException(GgufPath, null, $"llama.cpp could not load the model ({e.Message})");
        }
        try
        {
            _context = _weights.CreateContext(parameters);
        }
        catch
        {
            _weights.Dispose();
            throw;
        }
        _vocab = _weights.Vocab;
        _vocabSize = _vocab.Count;
    }

    /// <summary>Gets the GGUF file in use.</summary>
    public string GgufPath { get; }

    /// <summary>Gets the threads llama.cpp computes with.</summary>
    public int Threads { get; }

    private string TypeName { get; }

    /// <inheritdoc />
    public string Description => string.Create(CultureInfo.InvariantCulture,
        $"llamasharp {TypeName} ({Path.GetFileName(GgufPath)}), {Threads} threads, {_options.BatchSize} sequences");

    /// <inheritdoc />
    public async Task<IReadOnlyList<BackendOutput>> GenerateAsync(IReadOnlyList<BackendRequest> batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var generated = await GenerateTokensAsync(batch, ct).ConfigureAwait(false);
        return [.. generated.Select(g => g.Output)];
    }

    /// <summary>Tokenizes <paramref name="text"/> as a prompt is (BOS when the model adds one, special tokens matched).</summary>
    internal int[] Tokenize(string text, bool addSpecial = true) =>
        [.. _context.Tokenize(text, addSpecial, special: true).Select(t => (int)t)];

    /// <summary>Runs <paramref name="tokens"/> as one sequence and returns the logits after every position ([T][vocab]).</summary>
    internal float[][] Logits(IReadOnlyList<int> tokens)
    {
        _gate.Wait();
        try
        {
            var handle = _context.NativeHandle;
            handle.MemorySequenceRemove((LLamaSeqId)0, -1, -1);
            var result = new float[tokens.Count][];
            var batch = new LLamaBatch();
            for (var start = 0; start < tokens.Count; start += _options.DecodeTokens)
            {
                batch.Clear();
                var end = Math.Min(tokens.Count, start + _options.DecodeTokens);
                var indices = new int[end - start];
                for (var p = start; p < end; p++)
                {
                    indices[p - start] = batch.Add(tokens[p], p, (LLamaSeqId)0, true);
                }
                Decode(batch);
                for (var p = start; p < end; p++)
                {
                    result[p] = handle.GetLogitsIth(indices[p - start]).ToArray();
                }
            }
            handle.MemorySequenceRemove((LLamaSeqId)0, -1, -1);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Generates for every request, returning the outputs in request order with their token ids.</summary>
    internal async Task<IReadOnlyList<(BackendOutput Output, IReadOnlyList<int> Tokens)>> GenerateTokensAsync(IReadOnlyList<BackendRequest> requests, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // llama.cpp computes synchronously; keep the caller's thread free.
            return await Task.Run(() => Run(requests, ct), ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private (BackendOutput, IReadOnlyList<int>)[] Run(IReadOnlyList<BackendRequest> requests, CancellationToken ct)
    {
        var results = new (BackendOutput, IReadOnlyList<int>)[requests.Count];
        var slots = new Sequence?[_options.BatchSize];
        var next = 0;
        var batch = new LLamaBatch();
        var handle = _context.NativeHandle;
        handle.MemoryClear(true);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            for (var s = 0; s < slots.Length && next < requests.Count; s++)
            {
                if (slots[s] is null)
                {
                    slots[s] = Start(requests[next], next, s);
                    next++;
                }
            }
            if (slots.All(s => s is null))
            {
                return results;
            }
            batch.Clear();
            var budget = _options.DecodeTokens;
            // Generating sequences first (one token each), then prompt tokens in the room left.
            foreach (var sequence in slots)
            {
                if (sequence is { PromptDone: true })
                {
                    sequence.LogitIndex = batch.Add(sequence.Tokens[^1], sequence.Position, (LLamaSeqId)sequence.Slot, true);
                    sequence.Position++;
                    budget--;
                }
            }
            foreach (var sequence in slots)
            {
                if (sequence is { PromptDone: false } && budget > 0)
                {
                    var take = Math.Min(budget, sequence.Prompt.Length - sequence.Position);
                    for (var i = 0; i < take; i++)
                    {
                        var last = sequence.Position + 1 == sequence.Prompt.Length;
                        var index = batch.Add(sequence.Prompt[sequence.Position], sequence.Position, (LLamaSeqId)sequence.Slot, last);
                        if (last)
                        {
                            sequence.LogitIndex = index;
                        }
                        sequence.Position++;
                    }
                    budget -= take;
                }
            }
            Decode(batch);
            for (var s = 0; s < slots.Length; s++)
            {
                var sequence = slots[s];
                if (sequence is null || sequence.LogitIndex < 0)
                {
                    continue;
                }
                var token = sequence.Sampler.Next(handle.GetLogitsIth(sequence.LogitIndex)[.._vocabSize]);
                sequence.LogitIndex = -1;
                sequence.PromptDone = true;
                if (Finish(sequence, token) is { } output)
                {
                    results[sequence.Index] = (output, sequence.Generated);
                    handle.MemorySequenceRemove((LLamaSeqId)s, -1, -1);
                    slots[s] = null;
                }
            }
        }
    }

    private Sequence Start(BackendRequest request, int index, int slot)
    {
        var prompt = _context.Tokenize(request.Prompt, true, special: true);
        if (prompt.Length == 0)
        {
            throw new SkimDataException($"item {request.Item}: the prompt has no tokens (an empty text and a model that adds no BOS)");
        }
        if (prompt.Length >= _options.ContextSize)
        {
            throw new SkimDataException(string.Create(CultureInfo.InvariantCulture,
                $"item {request.Item}: the prompt has {prompt.Length} tokens, the context holds {_options.ContextSize} per sequence; raise --context-size or shorten the prompt"));
        }
        var seed = LlamaSharpSampler.ItemSeed(_options.Seed, request.Seed);
        return new Sequence(request, index, slot, prompt, new LlamaSharpSampler(_options.Temperature, _options.TopK, _options.TopP, seed), new StreamingTokenDecoder(Encoding.UTF8, _weights));
    }

    // Records a sampled token; returns the output when the sequence is finished.
    private BackendOutput? Finish(Sequence sequence, LLamaToken token)
    {
        string Text() => sequence.Text.ToString();
        BackendOutput Output(string text, string reason) =>
            new(sequence.Request.Item, text, sequence.Prompt.Length, sequence.Generated.Count, reason);
        if (!_options.IgnoreEos && token.IsEndOfGeneration(_vocab))
        {
            return Output(Text(), "stop");
        }
        sequence.Generated.Add((int)token);
        sequence.Tokens.Add(token);
        sequence.Decoder.Add(token);
        var before = sequence.Text.Length;
        sequence.Text.Append(sequence.Decoder.Read());
        if (_options.StopStrings.Count > 0)
        {
            var text = Text();
            var longest = _options.StopStrings.Max(s => s.Length);
            // A stop string can only end in the new characters; look back no further than it can reach.
            var from = Math.Max(0, before - longest + 1);
            var cut = -1;
            foreach (var stop in _options.StopStrings)
            {
                var at = text.IndexOf(stop, from, StringComparison.Ordinal);
                if (at >= 0 && (cut < 0 || at < cut))
                {
                    cut = at;
                }
            }
            if (cut >= 0)
            {
                return Output(text[..cut], "stop");
            }
        }
        if (sequence.Generated.Count >= _options.MaxNewTokens || sequence.Prompt.Length + sequence.Generated.Count >= _options.ContextSize)
        {
            return Output(Text(), "length");
        }
        return null;
    }

    private void Decode(LLamaBatch batch)
    {
        var result = _context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new SkimException($"llama.cpp failed to decode a batch of {batch.TokenCount} tokens: {result}");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
        _gate.Dispose();
    }

    private sealed class Sequence(BackendRequest request, int index, int slot, LLamaToken[] prompt, LlamaSharpSampler sampler, StreamingTokenDecoder decoder)
    {
        public BackendRequest Request { get; } = request;

        public int Index { get; } = index;

        public int Slot { get; } = slot;

        public LLamaToken[] Prompt { get; } = prompt;

        public LlamaSharpSampler Sampler { get; } = sampler;

        public StreamingTokenDecoder Decoder { get; } = decoder;

        public List<LLamaToken> Tokens { get; } = [];

        public List<int> Generated { get; } = [];

        public StringBuilder Text { get; } = new();

        public int Position { get; set; }

        public bool PromptDone { get; set; }

        public int LogitIndex { get; set; } = -1;
    }
}
