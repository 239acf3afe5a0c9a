using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;

namespace Skim.MapQueries.Mapping;

/// <summary>The outcome of the SKIM mapping rule.</summary>
/// <param name="NewPairs">The new pairs alone, shaped like the training matrix; values are rescaled scores in [threshold, 1].</param>
/// <param name="Augmented">The training matrix plus <paramref name="NewPairs"/>, clipped to [0, ClipMax].</param>
/// <param name="Statistics">Counts for the augmentation report.</param>
public sealed record SkimMappingResult(CsrMatrix NewPairs, CsrMatrix Augmented, SkimMappingStatistics Statistics)
{
    /// <summary>The file name SKIM gives the augmented training matrix.</summary>
    public const string AugmentedFileName = "trn_X_Y_skim.npz";

    /// <summary>
    /// Writes <see cref="Augmented"/> as <c>trn_X_Y_skim.npz</c> in <paramref name="directory"/>
    /// (created if needed) through a temporary name, as <c>scipy.sparse.save_npz</c> would, and returns its path.
    /// </summary>
    public string Save(string directory, SparseNpzOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, AugmentedFileName);
        SparseNpz.Save(path, Augmented, options);
        return path;
    }
}
