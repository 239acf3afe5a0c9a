using LLama;
using LLama.Common;
using LLama.Native;
using Skim.Generate.Backends;

namespace Skim.Bench;

/// <summary>
/// llama.cpp's next-token logits for a GGUF file at every position of a token sequence, through
/// LLamaSharp's low-level batch API (the ids are given, so both engines see the same tokens).
/// </summary>
internal sealed class QuantLogits : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly int _vocabSize;
    private readonly int _contextSize;

    public QuantLogits(string ggufPath, int threads, int contextSize)
    {
        LoadNativeLibrary();
        LlamaSharpLogging.Use(null);
        _contextSize = contextSize;
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextSize,
            BatchSize = (uint)contextSize,
            UBatchSize = (uint)contextSize,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        try
        {
            _context = _weights.CreateContext(parameters);
        }
        catch
        {
            _weights.Dispose();
            throw;
        }
        _vocabSize = _weights.Vocab.Count;
    }

    /// <summary>
    /// Loads llama.cpp the way LLamaSharp's <see cref="NativeApi"/> does on first use (its class
    /// constructor picks the build for the CPU and installs the import resolver). A quantising
    /// export called first in a process reaches llama.cpp through another class, which finds no
    /// resolver and fails with DllNotFoundException, so the scenarios load it up front.
    /// </summary>
    public static void LoadNativeLibrary() => System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(NativeApi).TypeHandle);

    /// <summary>Returns the logits after every position of <paramref name="tokens"/> ([T][vocab]), decoded as one batch.</summary>
    public float[][] Logits(IReadOnlyList<int> tokens)
    {
        if (tokens.Count > _contextSize)
        {
            throw new ArgumentException($"{tokens.Count} tokens do not fit a context of {_contextSize}", nameof(tokens));
        }
        var handle = _context.NativeHandle;
        handle.MemoryClear(true);
        var batch = new LLamaBatch();
        var indices = new int[tokens.Count];
        for (var p = 0; p < tokens.Count; p++)
        {
            indices[p] = batch.Add(tokens[p], p, (LLamaSeqId)0, true);
        }
        var result = handle.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama.cpp failed to decode {tokens.Count} tokens: {result}");
        }
        return [.. indices.Select(i => handle.GetLogitsIth(i)[.._vocabSize].ToArray())];
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
