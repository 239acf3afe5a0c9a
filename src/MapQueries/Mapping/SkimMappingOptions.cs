using Skim.Core;
using Skim.Core.Datasets;

namespace Skim.MapQueries.Mapping;

/// <summary>The SKIM rule that turns neighbour lists of synthetic texts into new training pairs.</summary>
public sealed record SkimMappingOptions
{
    /// <summary>Gets how many of each synthetic text's nearest neighbours are considered (the first columns of the neighbour matrix). Defaults to 10.</summary>
    public int TopK { get; init; } = 10;

    /// <summary>
    /// Gets the smallest rescaled score <c>(s + 1) / 2</c> a neighbour needs to become a pair, where s
    /// is the cosine similarity; 0.8 means a cosine of at least 0.6. The comparison is made in
    /// float32, as numpy makes it on SKIM's float32 score matrix. Defaults to 0.8.
    /// </summary>
    public float Threshold { get; init; } = 0.8f;

    /// <summary>Gets which side the synthetic texts belong to. Defaults to <see cref="MappingOrientation.QuerySide"/>.</summary>
    public MappingOrientation Orientation { get; init; } = MappingOrientation.QuerySide;

    /// <summary>Gets the upper bound the augmented matrix is clipped to (the lower bound is 0). Defaults to 1.</summary>
    public float ClipMax { get; init; } = 1f;

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (TopK < 1)
        {
            throw new SkimConfigException($"top_k: expected a positive number of neighbours, found {TopK}");
        }
        if (!float.IsFinite(Threshold))
        {
            throw new SkimConfigException($"threshold: expected a finite rescaled score, found {Threshold}");
        }
        if (!Enum.IsDefined(Orientation))
        {
            throw new SkimConfigException($"orientation: expected query-side or label-side, found {(int)Orientation}");
        }
        if (!float.IsFinite(ClipMax) || ClipMax < 0)
        {
            throw new SkimConfigException($"clip_max: expected a finite value >= 0, found {ClipMax}");
        }
    }
}
