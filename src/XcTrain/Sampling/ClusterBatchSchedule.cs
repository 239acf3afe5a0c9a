namespace Skim.XcTrain.Sampling;

/// <summary>
/// NGAME's negative-mining-aware mini-batching (<c>libs/shortlist.py</c> <c>ClusteringIndex</c> and
/// the epoch loop of <c>_fit</c>): training points are grouped into clusters of similar points, the
/// cluster list is shuffled each epoch and concatenated, and batches are consecutive chunks, so a
/// batch holds a few clusters and the in-batch negatives are hard.
/// </summary>
/// <remarks>
/// <para>State: <see cref="NumClusters"/> starts at N (every point a singleton, so the first orders are
/// plain shuffles) and is halved, as a real number, at the end of epoch c − 1 for each c in
/// <see cref="CurriculumEpochs"/> (NGAME's <c>curr_epochs</c>), so cluster size doubles from epoch c.
/// Epochs count from 0, with one <see cref="EndEpoch"/> call per epoch.</para>
/// <para>The epoch loop a trainer runs, exactly as NGAME:</para>
/// <list type="number">
/// <item>At epoch start, when <see cref="ShouldRecluster"/> (epoch ≥ curr_epochs[0] and
/// epoch % refresh_interval == 0), cluster the embeddings into <see cref="Clusters"/> clusters
/// (<see cref="BalancedKMeans"/>) and <see cref="SetClusters"/>.</item>
/// <item>Train the epoch over the order computed <i>before</i> that clustering.</item>
/// <item>Compute the next epoch's order with <see cref="Order(Random)"/>: only now does the new
/// clustering shape batches (the one-epoch lag of NGAME's <c>update_order</c>).</item>
/// <item><see cref="EndEpoch"/>.</item>
/// </list>
/// <para>For an exact resume, save <see cref="ToState"/> after step 4 together with the order of the
/// next epoch, and seed the <see cref="Random"/> given to <see cref="Order(Random)"/> per epoch
/// (e.g. from the run seed and the epoch): a <see cref="Random"/>'s state cannot be saved.</para>
/// </remarks>
public sealed class ClusterBatchSchedule
{
    private readonly int[] _curriculum;
    private int[][]? _clusters;

    /// <summary>Creates the schedule of a run over <paramref name="instances"/> training points.</summary>
    /// <param name="instances">Number of training points N.</param>
    /// <param name="curriculumEpochs">Epochs from which the cluster size doubles (NGAME's <c>curr_epochs</c>), strictly increasing and at least 1; the first is also when reclustering starts. Empty: never recluster.</param>
    /// <param name="refreshInterval">Recluster every this many epochs (NGAME's <c>refresh_interval</c>).</param>
    /// <exception cref="ArgumentException">A count is below 1 or the epochs are not strictly increasing from 1.</exception>
    public ClusterBatchSchedule(int instances, IReadOnlyList<int> curriculumEpochs, int refreshInterval)
    {
        ArgumentNullException.ThrowIfNull(curriculumEpochs);
        ArgumentOutOfRangeException.ThrowIfLessThan(instances, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(refreshInterval, 1);
        for (var i = 0; i < curriculumEpochs.Count; i++)
        {
            if (curriculumEpochs[i] < 1 || (i > 0 && curriculumEpochs[i] <= curriculumEpochs[i - 1]))
            {
                throw new ArgumentException($"curriculum epochs must be strictly increasing and at least 1, found [{string.Join(", ", curriculumEpochs)}]", nameof(curriculumEpochs));
            }
        }
        Instances = instances;
        RefreshInterval = refreshInterval;
        _curriculum = [.. curriculumEpochs];
        NumClusters = instances;
    }

    /// <summary>Gets the number of training points N.</summary>
    public int Instances { get; }

    /// <summary>Gets the epochs from which the cluster size doubles (NGAME's <c>curr_epochs</c>).</summary>
    public IReadOnlyList<int> CurriculumEpochs => _curriculum;

    /// <summary>Gets how often (in epochs) the clustering is refreshed once it has started.</summary>
    public int RefreshInterval { get; }

    /// <summary>Gets NGAME's <c>num_clusters</c>: N halved once per curriculum epoch reached, a real number as in NGAME.</summary>
    public double NumClusters { get; private set; }

    /// <summary>Gets how many epochs have ended (NGAME's <c>step</c>), i.e. the epoch that runs next.</summary>
    public int Step { get; private set; }

    /// <summary>Gets the number of clusters a clustering made at the start of the running epoch has: <see cref="ClustersFor"/>(<see cref="Step"/>).</summary>
    public int Clusters => ClustersFor(Step);

    /// <summary>
    /// Gets the clustering installed with <see cref="SetClusters"/>, which shapes the next
    /// <see cref="Order(Random)"/>, or null while every point is its own cluster. (A trainer may
    /// instead keep its clusters itself and call <see cref="Order(int[][], Random)"/>.)
    /// </summary>
    public IReadOnlyList<int[]>? Clustering => _clusters;

    /// <summary>Gets whether the embeddings are reclustered at the start of <paramref name="epoch"/>: epoch ≥ curr_epochs[0] and epoch % refresh_interval == 0.</summary>
    public bool ShouldRecluster(int epoch) =>
        _curriculum.Length > 0 && epoch >= _curriculum[0] && epoch % RefreshInterval == 0;

    /// <summary>
    /// Gets the number of clusters a clustering made at the start of <paramref name="epoch"/> has:
    /// N / 2^(curriculum epochs ≤ epoch), rounded up to a power of two as pyxclib's cluster_balance
    /// does (and capped at the power of two at or above N).
    /// </summary>
    public int ClustersFor(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var clusters = (double)Instances;
        foreach (var c in _curriculum)
        {
            if (c <= epoch)
            {
                clusters /= 2;
            }
        }
        return BalancedKMeans.RoundUpToPowerOfTwo((int)Math.Ceiling(clusters));
    }

    /// <summary>Installs a clustering (made at the start of an epoch); it shapes batches from the next <see cref="Order(Random)"/> on.</summary>
    /// <exception cref="ArgumentException">The clusters are not a partition of 0..N−1.</exception>
    public void SetClusters(int[][] clusters)
    {
        CheckPartition(clusters, Instances);
        _clusters = clusters;
    }

    /// <summary>The next epoch's order from the installed clustering (singletons, i.e. a plain shuffle, before the first).</summary>
    public int[] Order(Random random) =>
        _clusters is null ? ShuffledIdentity(Instances, random) : Order(_clusters, random);

    /// <summary>
    /// NGAME's <c>indices_permutation</c>: shuffles the cluster list, then concatenates the clusters,
    /// each keeping its inner order. Batches are then consecutive chunks of this order
    /// (<see cref="Batches"/>), so a cluster may straddle two batches.
    /// </summary>
    public static int[] Order(int[][] clusters, Random random)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(random);
        var permutation = ShuffledIdentity(clusters.Length, random);
        var total = 0;
        foreach (var cluster in clusters)
        {
            total += cluster.Length;
        }
        var order = new int[total];
        var at = 0;
        foreach (var c in permutation)
        {
            clusters[c].CopyTo(order, at);
            at += clusters[c].Length;
        }
        return order;
    }

    /// <summary>Cuts an order into consecutive batches of <paramref name="batchSize"/>; the last may be shorter (drop_last=False).</summary>
    public static IEnumerable<ArraySegment<int>> Batches(int[] order, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(order);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return Chunks(order, batchSize);
    }

    /// <summary>
    /// Ends <paramref name="epoch"/> (NGAME's <c>update_state</c>): when epoch + 1 is a curriculum
    /// epoch, <see cref="NumClusters"/> is halved; then <see cref="Step"/> advances.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="epoch"/> is not the epoch that was running (<see cref="Step"/>).</exception>
    public void EndEpoch(int epoch)
    {
        if (epoch != Step)
        {
            throw new InvalidOperationException($"EndEpoch({epoch}) called, but epoch {Step} is the one running");
        }
        if (Array.IndexOf(_curriculum, Step + 1) >= 0)
        {
            NumClusters /= 2;
        }
        Step++;
    }

    /// <summary>Captures the schedule for a checkpoint (clusters included, so a resume batches exactly as the run would have).</summary>
    public ClusterScheduleState ToState()
    {
        int[]? offsets = null;
        int[]? members = null;
        if (_clusters is not null)
        {
            offsets = new int[_clusters.Length + 1];
            members = new int[Instances];
            for (var c = 0; c < _clusters.Length; c++)
            {
                _clusters[c].CopyTo(members, offsets[c]);
                offsets[c + 1] = offsets[c] + _clusters[c].Length;
            }
        }
        return new ClusterScheduleState
        {
            Instances = Instances,
            CurriculumEpochs = [.. _curriculum],
            RefreshInterval = RefreshInterval,
            NumClusters = NumClusters,
            Step = Step,
            ClusterOffsets = offsets,
            ClusterMembers = members,
        };
    }

    /// <summary>Restores a schedule saved with <see cref="ToState"/>.</summary>
    /// <exception cref="ArgumentException">The state is inconsistent (bad counts, clusters that are not a partition).</exception>
    public static ClusterBatchSchedule FromState(ClusterScheduleState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var schedule = new ClusterBatchSchedule(state.Instances, state.CurriculumEpochs, state.RefreshInterval);
        if (state.Step < 0 || !(state.NumClusters > 0))
        {
            throw new ArgumentException($"state: expected step ≥ 0 and num_clusters > 0, found {state.Step} and {state.NumClusters}", nameof(state));
        }
        schedule.Step = state.Step;
        schedule.NumClusters = state.NumClusters;
        if (state.ClusterOffsets is not null || state.ClusterMembers is not null)
        {
            if (state.ClusterOffsets is not { Length: > 1 } offsets || state.ClusterMembers is not { } members
                || offsets[0] != 0 || offsets[^1] != members.Length)
            {
                throw new ArgumentException("state: cluster offsets and members must both be present and consistent", nameof(state));
            }
            var clusters = new int[offsets.Length - 1][];
            for (var c = 0; c < clusters.Length; c++)
            {
                if (offsets[c + 1] < offsets[c])
                {
                    throw new ArgumentException($"state: cluster offsets decrease at cluster {c}", nameof(state));
                }
                clusters[c] = members[offsets[c]..offsets[c + 1]];
            }
            schedule.SetClusters(clusters);
        }
        return schedule;
    }

    private static IEnumerable<ArraySegment<int>> Chunks(int[] order, int batchSize)
    {
        for (var start = 0; start < order.Length; start += batchSize)
        {
            yield return new ArraySegment<int>(order, start, Math.Min(batchSize, order.Length - start));
        }
    }

    private static int[] ShuffledIdentity(int count, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var items = new int[count];
        for (var i = 0; i < count; i++)
        {
            items[i] = i;
        }
        random.Shuffle(items);
        return items;
    }

    private static void CheckPartition(int[][] clusters, int instances)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        var seen = new bool[instances];
        var total = 0;
        for (var c = 0; c < clusters.Length; c++)
        {
            foreach (var row in clusters[c] ?? throw new ArgumentException($"cluster {c} is null", nameof(clusters)))
            {
                if ((uint)row >= (uint)instances || seen[row])
                {
                    throw new ArgumentException($"cluster {c}: row {row} is outside [0, {instances}) or in two clusters", nameof(clusters));
                }
                seen[row] = true;
                total++;
            }
        }
        if (total != instances)
        {
            throw new ArgumentException($"the clusters hold {total} rows, expected all {instances}", nameof(clusters));
        }
    }
}
