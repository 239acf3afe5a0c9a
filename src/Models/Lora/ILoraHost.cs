using static TorchSharp.torch;

namespace Skim.Models.Lora;

/// <summary>
/// A module whose linear projections LoRA may wrap (attention q/k/v/o, the MLP, the LM head). The
/// host swaps the field its forward pass uses and re-registers the child under the same name, so the
/// base weight keeps its Hugging Face key.
/// </summary>
internal interface ILoraHost
{
    /// <summary>Gets the names of the projections this module holds (HF names: "q_proj", "gate_proj", "lm_head").</summary>
    IEnumerable<string> ProjectionNames { get; }

    /// <summary>Replaces the projection <paramref name="name"/> with <paramref name="replace"/>(current).</summary>
    void ReplaceProjection(string name, Func<nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>> replace);
}

/// <summary>Helpers for <see cref="ILoraHost"/> implementations.</summary>
internal static class LoraHost
{
    /// <summary>Builds the replacement and registers it in place of <paramref name="current"/> under <paramref name="name"/>.</summary>
    public static nn.Module<Tensor, Tensor> Swap(
        nn.Module host,
        string name,
        nn.Module<Tensor, Tensor> current,
        Func<nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>> replace)
    {
        var replacement = replace(current);
        if (!ReferenceEquals(replacement, current))
        {
            // TorchSharp removes a child registered as null, then accepts a new one under the same name.
            host.register_module(name, null!);
            host.register_module(name, replacement);
        }
        return replacement;
    }
}
