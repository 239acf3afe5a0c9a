namespace Skim.XcTrain.Sampling;

/// <summary>
/// A <see cref="ClusterBatchSchedule"/> as plain data for checkpoints; System.Text.Json writes and
/// reads it as is.
/// </summary>
public sealed record ClusterScheduleState
{
    /// <summary>Gets the number of training points N.</summary>
    public int Instances { get; init; }

    /// <summary>Gets NGAME's <c>curr_epochs</c>.</summary>
    public int[] CurriculumEpochs { get; init; } = [];

    /// <summary>Gets NGAME's <c>refresh_interval</c>.</summary>
    public int RefreshInterval { get; init; } = 1;

    /// <summary>Gets NGAME's <c>num_clusters</c> (a real number).</summary>
    public double NumClusters { get; init; }

    /// <summary>Gets the number of epochs that have ended.</summary>
    public int Step { get; init; }

    /// <summary>Gets where each cluster starts in <see cref="ClusterMembers"/> (clusters + 1 entries), or null before the first clustering.</summary>
    public int[]? ClusterOffsets { get; init; }

    /// <summary>Gets the row ids of all clusters back to back, or null before the first clustering.</summary>
    public int[]? ClusterMembers { get; init; }
}
