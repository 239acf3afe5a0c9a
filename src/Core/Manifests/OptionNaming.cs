using System.Text.Json;

namespace Skim.Core.Manifests;

/// <summary>
/// How option names are spelled in manifests and pipeline files: snake_case, with the two
/// spellings plain snake_case gets wrong written as people write them (<c>DType</c> is
/// <c>dtype</c>, not <c>d_type</c>; <c>Per1K</c> is <c>per_1k</c>, not <c>per1_k</c>).
/// </summary>
public sealed class OptionNaming : JsonNamingPolicy
{
    /// <summary>Gets the policy.</summary>
    public static OptionNaming Instance { get; } = new();

    /// <inheritdoc/>
    public override string ConvertName(string name) =>
        SnakeCaseLower.ConvertName(name)
            .Replace("d_type", "dtype", StringComparison.Ordinal)
            .Replace("per1_k", "per_1k", StringComparison.Ordinal);
}
