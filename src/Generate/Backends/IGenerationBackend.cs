namespace Skim.Generate.Backends;

/// <summary>
/// One of step-1's engines (the TorchSharp engine, LLamaSharp over a GGUF file, an
/// OpenAI-compatible server). Sampling settings are fixed when the backend is made; a call
/// continues a batch of prompts, each with its own seed so that an item's text does not depend on
/// which batch it landed in.
/// </summary>
public interface IGenerationBackend : IDisposable
{
    /// <summary>Gets a short description for manifests and the screen (engine, dtype or quantisation, device, threads).</summary>
    string Description { get; }

    /// <summary>Continues every request of <paramref name="batch"/>; the outputs are in the order of the requests.</summary>
    Task<IReadOnlyList<BackendOutput>> GenerateAsync(IReadOnlyList<BackendRequest> batch, CancellationToken ct);
}

/// <summary>A prompt to continue.</summary>
/// <param name="Item">The item's global index (what the output is keyed by).</param>
/// <param name="Prompt">The full prompt text (template already filled).</param>
/// <param name="Seed">The item's sampling seed.</param>
public sealed record BackendRequest(long Item, string Prompt, long Seed);

/// <summary>A continuation.</summary>
/// <param name="Item">The item's global index.</param>
/// <param name="Text">The generated text (stop string excluded).</param>
/// <param name="PromptTokens">Tokens in the prompt.</param>
/// <param name="GeneratedTokens">Tokens generated.</param>
/// <param name="FinishReason">"stop" (EOS or stop string) or "length" (max new tokens).</param>
public sealed record BackendOutput(long Item, string Text, int PromptTokens, int GeneratedTokens, string FinishReason);
