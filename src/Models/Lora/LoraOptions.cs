using Skim.Core;

namespace Skim.Models.Lora;

/// <summary>Which projections get LoRA adapters, and their rank, scale and dropout (PEFT's <c>LoraConfig</c> fields).</summary>
public sealed record LoraOptions
{
    /// <summary>Gets the projection names LoRA may target (HF module names).</summary>
    public static readonly IReadOnlyList<string> KnownTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"];

    /// <summary>Gets the rank r of the update B·A. Defaults to 8.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>Gets alpha; the update is scaled by alpha / r. Defaults to 16.</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>Gets the dropout applied to the adapter's input while training. Defaults to 0.05.</summary>
    public double Dropout { get; init; } = 0.05;

    /// <summary>
    /// Gets the projections to adapt: any of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj,
    /// down_proj and lm_head (not available with tied embeddings). Defaults to the attention and MLP projections.
    /// </summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>Gets the seed of the random initialisation of the A matrices. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the factor alpha / r applied to the adapter's output.</summary>
    public double Scaling => Alpha / Rank;

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the option when a value is invalid.</summary>
    public void Validate()
    {
        if (Rank < 1)
        {
            throw new SkimConfigException($"lora r: expected a positive integer, found {Rank}");
        }
        if (!(Alpha > 0) || double.IsInfinity(Alpha))
        {
            throw new SkimConfigException($"lora alpha: expected a positive number, found {Alpha}");
        }
        if (!(Dropout >= 0 && Dropout < 1))
        {
            throw new SkimConfigException($"lora dropout: expected a number in [0, 1), found {Dropout}");
        }
        if (TargetModules.Count == 0)
        {
            throw new SkimConfigException($"lora target modules: expected at least one of {string.Join(", ", KnownTargets)}, found none");
        }
        foreach (var target in TargetModules)
        {
            if (!KnownTargets.Contains(target))
            {
                throw new SkimConfigException($"lora target modules: expected any of {string.Join(", ", KnownTargets)}, found \"{target}\"");
            }
        }
    }
}
