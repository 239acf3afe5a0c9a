using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Formats.Npy;

namespace Skim.XcTrain.Sampling;

/// <summary>
/// Stores a negative sampler's <see cref="SamplerState"/> in a checkpoint the way the trainer keeps
/// large arrays: the ids and embeddings as .npy arrays, the rest as a small JSON object (a memory
/// bank of 2048 × 768 floats would make a 20 MB JSON document).
/// </summary>
public static class NegativeSamplerCheckpoint
{
    /// <summary>The array holding the remembered label ids, oldest first.</summary>
    public const string LabelIdsArray = "sampler_label_ids";

    /// <summary>The array holding the remembered (ids × D) float32 embeddings.</summary>
    public const string EmbeddingsArray = "sampler_embeddings";

    /// <summary>Puts the sampler's arrays into <paramref name="arrays"/> and returns the JSON rest.</summary>
    public static JsonObject SaveState(this INegativeSampler sampler, IDictionary<string, NpyArray> arrays)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(arrays);
        var state = sampler.SaveState();
        arrays[LabelIdsArray] = NpyArray.Create(state.LabelIds, state.LabelIds.Length);
        if (state.Dimension > 0)
        {
            arrays[EmbeddingsArray] = NpyArray.Create(state.Embeddings, state.LabelIds.Length, state.Dimension);
        }
        return new JsonObject { ["sampler"] = state.Sampler, ["dimension"] = state.Dimension };
    }

    /// <summary>Restores what <see cref="SaveState(INegativeSampler, IDictionary{string, NpyArray})"/> stored; a null state (nothing saved) leaves the sampler as it is.</summary>
    /// <exception cref="SkimConfigException">The state belongs to another sampler, or its arrays are missing or malformed.</exception>
    public static void LoadState(this INegativeSampler sampler, JsonObject? state, Func<string, NpyArray?> arrays)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(arrays);
        if (state is null)
        {
            return;
        }
        var dimension = (int?)state["dimension"] ?? 0;
        var ids = arrays(LabelIdsArray)?.As<int>()
            ?? throw new SkimConfigException($"negative sampler state: the checkpoint has no array '{LabelIdsArray}'");
        var embeddings = dimension > 0
            ? arrays(EmbeddingsArray)?.As<float>() ?? throw new SkimConfigException($"negative sampler state: the checkpoint has no array '{EmbeddingsArray}'")
            : [];
        sampler.LoadState(new SamplerState
        {
            Sampler = (string?)state["sampler"] ?? "",
            Dimension = dimension,
            LabelIds = ids,
            Embeddings = embeddings,
        });
    }
}
