using System.Text.Json;
using Skim.XcTrain.Sampling;

namespace Skim.XcTrain.Tests.Sampling;

public sealed class ClusterBatchScheduleTests
{
    private static readonly int[] s_ngameM1Curriculum = [10, 20, 25, 50, 75, 100, 125, 150, 200];

    [Fact]
    public void The_ngame_m1_schedule_reclusters_every_5_epochs_from_10_with_doubling_cluster_sizes()
    {
        // Given NGAME's M1 run on LF-AmazonTitles-131K (N = 294,805, refresh 5)
        var schedule = new ClusterBatchSchedule(294_805, s_ngameM1Curriculum, refreshInterval: 5);

        // When the epochs 0..210 run
        var made = new Dictionary<int, int>();
        for (var epoch = 0; epoch <= 210; epoch++)
        {
            if (schedule.ShouldRecluster(epoch))
            {
                made[epoch] = schedule.ClustersFor(epoch);
                Assert.Equal(made[epoch], schedule.Clusters);
                Assert.Equal(BalancedKMeans.RoundUpToPowerOfTwo((int)Math.Ceiling(schedule.NumClusters)), made[epoch]);
            }
            schedule.EndEpoch(epoch);
        }

        // Then the clusterings of the digest (§4.4): 2^18 at 10 and 15, 2^17 at 20, … 2^10 from 200
        Assert.Equal(Enumerable.Range(2, 41).Select(i => i * 5), made.Keys);
        Assert.Equal(1 << 18, made[10]);
        Assert.Equal(1 << 18, made[15]);
        Assert.Equal(1 << 17, made[20]);
        Assert.Equal(1 << 16, made[25]);
        Assert.Equal(1 << 16, made[45]);
        Assert.Equal(1 << 15, made[50]);
        Assert.Equal(1 << 14, made[75]);
        Assert.Equal(1 << 13, made[100]);
        Assert.Equal(1 << 12, made[125]);
        Assert.Equal(1 << 11, made[150]);
        Assert.Equal(1 << 10, made[200]);
        Assert.Equal(294_805.0 / 512, schedule.NumClusters);
    }

    [Fact]
    public void The_halving_happens_at_the_end_of_the_epoch_before_a_curriculum_epoch()
    {
        // Given N = 100, curriculum [2, 3]
        var schedule = new ClusterBatchSchedule(100, [2, 3], refreshInterval: 1);

        // When / Then
        schedule.EndEpoch(0);
        Assert.Equal(100, schedule.NumClusters);
        schedule.EndEpoch(1);
        Assert.Equal(50, schedule.NumClusters);
        schedule.EndEpoch(2);
        Assert.Equal(25, schedule.NumClusters);
        Assert.Equal(3, schedule.Step);
        Assert.False(schedule.ShouldRecluster(1));
        Assert.True(schedule.ShouldRecluster(2));
        Assert.Equal(64, schedule.ClustersFor(2));
        Assert.Equal(32, schedule.ClustersFor(3));
    }

    [Fact]
    public void A_clustering_made_at_epoch_start_shapes_batches_only_from_the_next_order()
    {
        // Given N = 8 with clustering from epoch 1, and the order of epoch 1 made at the end of epoch 0
        var schedule = new ClusterBatchSchedule(8, [1], refreshInterval: 1);
        var random = new Random(3);
        var orderOfEpoch1 = schedule.Order(random);
        schedule.EndEpoch(0);

        // When epoch 1 starts with a recluster, trains over its order, then makes the next one
        Assert.True(schedule.ShouldRecluster(1));
        schedule.SetClusters([[0, 1, 2, 3], [7, 6, 5, 4]]);
        var orderOfEpoch2 = schedule.Order(random);
        schedule.EndEpoch(1);

        // Then epoch 1 still used a plain shuffle; epoch 2 visits each cluster contiguously, in its inner order
        Assert.Equal(Enumerable.Range(0, 8), orderOfEpoch1.Order());
        Assert.True(
            orderOfEpoch2.SequenceEqual([0, 1, 2, 3, 7, 6, 5, 4]) || orderOfEpoch2.SequenceEqual([7, 6, 5, 4, 0, 1, 2, 3]),
            string.Join(",", orderOfEpoch2));
    }

    [Fact]
    public void Batches_are_consecutive_chunks_of_the_order_and_a_cluster_may_straddle_two()
    {
        // Given three clusters of three
        int[][] clusters = [[0, 1, 2], [3, 4, 5], [6, 7, 8]];

        // When ordered and cut into batches of 4
        var order = ClusterBatchSchedule.Order(clusters, new Random(5));
        var batches = ClusterBatchSchedule.Batches(order, 4).Select(b => b.ToArray()).ToArray();

        // Then the order concatenates whole clusters, and the batches 4, 4, 1 cut through the second cluster
        Assert.Contains(order[..3], clusters, new SequenceComparer());
        Assert.Contains(order[3..6], clusters, new SequenceComparer());
        Assert.Contains(order[6..], clusters, new SequenceComparer());
        Assert.Equal([4, 4, 1], batches.Select(b => b.Length));
        Assert.Equal(order, batches.SelectMany(b => b));
    }

    [Fact]
    public void The_state_round_trips_through_json_and_orders_as_before()
    {
        // Given a schedule after three epochs and a clustering
        var schedule = new ClusterBatchSchedule(6, [2, 4], refreshInterval: 2);
        schedule.EndEpoch(0);
        schedule.EndEpoch(1);
        schedule.SetClusters([[5, 0], [1, 2], [3, 4]]);
        schedule.EndEpoch(2);

        // When saved as JSON and restored
        var json = JsonSerializer.Serialize(schedule.ToState());
        var restored = ClusterBatchSchedule.FromState(JsonSerializer.Deserialize<ClusterScheduleState>(json)!);

        // Then the state and the next orders are the same
        Assert.Equal(json, JsonSerializer.Serialize(restored.ToState()));
        Assert.Equal(schedule.Order(new Random(9)), restored.Order(new Random(9)));
        Assert.Equal(3, restored.Step);
        Assert.Equal(3, restored.NumClusters);
    }

    [Fact]
    public void Ending_an_epoch_out_of_turn_or_installing_a_non_partition_is_refused()
    {
        // Given
        var schedule = new ClusterBatchSchedule(4, [1], refreshInterval: 1);

        // When / Then
        Assert.Throws<InvalidOperationException>(() => schedule.EndEpoch(1));
        Assert.Throws<ArgumentException>(() => schedule.SetClusters([[0, 1], [1, 2, 3]]));
        Assert.Throws<ArgumentException>(() => schedule.SetClusters([[0, 1], [2]]));
        Assert.Throws<ArgumentException>(() => new ClusterBatchSchedule(4, [3, 3], refreshInterval: 1));
    }

    private sealed class SequenceComparer : IEqualityComparer<int[]>
    {
        public bool Equals(int[]? x, int[]? y) => x is not null && y is not null && x.SequenceEqual(y);

        public int GetHashCode(int[] obj) => obj.Length;
    }
}
