using Skim.Core;
using Skim.XcTrain.Sampling;

namespace Skim.XcTrain.Tests.Sampling;

public sealed class BalancedKMeansTests
{
    [Fact]
    public void Cluster_sizes_differ_by_at_most_one_and_every_row_is_in_exactly_one_cluster()
    {
        // Given 1000 random rows of dimension 16
        var data = Gaussian(1000, 16, seed: 1);

        // When asking for 100 clusters (rounded up to 128)
        var clusters = BalancedKMeans.Cluster(data, 1000, 16, 100, seed: 7);

        // Then 128 clusters of 7 or 8 rows (1000 / 128 = 7.8) cover every row once
        Assert.Equal(128, clusters.Length);
        Assert.All(clusters, c => Assert.InRange(c.Length, 7, 8));
        Assert.Equal(Enumerable.Range(0, 1000), clusters.SelectMany(c => c).Order());
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 8)]
    [InlineData(8, 8)]
    [InlineData(9, 16)]
    public void The_requested_count_is_rounded_up_to_a_power_of_two(int requested, int expected)
    {
        // Given 64 random rows
        var data = Gaussian(64, 4, seed: 2);

        // When
        var clusters = BalancedKMeans.Cluster(data, 64, 4, requested, seed: 3);

        // Then
        Assert.Equal(expected, BalancedKMeans.RoundUpToPowerOfTwo(requested));
        Assert.Equal(expected, clusters.Length);
    }

    [Fact]
    public void Asking_for_more_clusters_than_rows_gives_singletons()
    {
        // Given 5 rows
        var data = Gaussian(5, 3, seed: 4);

        // When asking for 16 clusters
        var clusters = BalancedKMeans.Cluster(data, 5, 3, 16, seed: 5);

        // Then every row is alone (pyxclib would loop forever here)
        Assert.Equal(5, clusters.Length);
        Assert.All(clusters, c => Assert.Single(c));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Members_are_nearer_their_own_centroid_on_average(bool blobs)
    {
        // Given random rows, or 8 blobs of 64 noisy copies of random centres
        const int rows = 512, dim = 32;
        var data = blobs ? Blobs(8, 64, dim, noise: 0.3f, seed: 6) : Gaussian(rows, dim, seed: 6);

        // When clustering into 8
        var clusters = BalancedKMeans.Cluster(data, rows, dim, 8, seed: 11);

        // Then each cluster's mean cosine to its own normalised centroid beats that to every other centroid
        var centroids = clusters.Select(c => Centroid(data, dim, c)).ToArray();
        for (var a = 0; a < clusters.Length; a++)
        {
            var own = clusters[a].Average(r => Cosine(data, dim, r, centroids[a]));
            for (var b = 0; b < clusters.Length; b++)
            {
                if (b != a)
                {
                    Assert.True(own > clusters[a].Average(r => Cosine(data, dim, r, centroids[b])), $"cluster {a} is not nearer its own centroid than centroid {b}");
                }
            }
        }
    }

    [Fact]
    public void Two_well_separated_groups_are_split_apart_whatever_the_seed()
    {
        // Given rows 0-3 near (1, 0) and rows 4-7 near (0, 1)
        float[] data = [1, 0, 0.9f, 0.1f, 0.95f, 0.05f, 0.8f, 0.2f, 0, 1, 0.1f, 0.9f, 0.05f, 0.95f, 0.2f, 0.8f];

        for (var seed = 0; seed < 20; seed++)
        {
            // When
            var clusters = BalancedKMeans.Cluster(data, 8, 2, 2, seed);

            // Then the groups are the clusters, in some order
            var groups = clusters.Select(c => string.Join(",", c.Order())).Order().ToArray();
            Assert.Equal(["0,1,2,3", "4,5,6,7"], groups);
        }
    }

    [Fact]
    public void The_result_depends_on_the_seed_only_not_on_the_thread_count()
    {
        // Given 3000 random rows (large enough for parallel blocks inside the first splits)
        var data = Gaussian(3000, 24, seed: 8);

        // When clustering with one thread and with four
        var serial = BalancedKMeans.Cluster(data, 3000, 24, 64, seed: 9, maxDegreeOfParallelism: 1);
        var parallel = BalancedKMeans.Cluster(data, 3000, 24, 64, seed: 9, maxDegreeOfParallelism: 4);

        // Then the clusters are identical, member order included
        Assert.Equal(serial.Length, parallel.Length);
        for (var c = 0; c < serial.Length; c++)
        {
            Assert.Equal(serial[c], parallel[c]);
        }
    }

    [Fact]
    public void A_nan_embedding_is_a_data_error_naming_the_row()
    {
        // Given row 2 holding a NaN
        var data = Gaussian(4, 2, seed: 10);
        data[5] = float.NaN;

        // When / Then
        var error = Assert.Throws<SkimDataException>(() => BalancedKMeans.Cluster(data, 4, 2, 2, seed: 1));
        Assert.Equal("row 2", error.Location);
    }

    private static float[] Gaussian(int rows, int dim, int seed)
    {
        var random = new Random(seed);
        var data = new float[rows * dim];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }
        return data;
    }

    private static float[] Blobs(int blobs, int perBlob, int dim, float noise, int seed)
    {
        var centres = Gaussian(blobs, dim, seed);
        var jitter = Gaussian(blobs * perBlob, dim, seed + 1);
        var data = new float[blobs * perBlob * dim];
        for (var r = 0; r < blobs * perBlob; r++)
        {
            for (var t = 0; t < dim; t++)
            {
                data[(r * dim) + t] = centres[((r % blobs) * dim) + t] + (noise * jitter[(r * dim) + t]);
            }
        }
        return data;
    }

    private static double[] Centroid(float[] data, int dim, int[] members)
    {
        var sum = new double[dim];
        foreach (var r in members)
        {
            var norm = Math.Sqrt(Enumerable.Range(0, dim).Sum(t => (double)data[(r * dim) + t] * data[(r * dim) + t]));
            for (var t = 0; t < dim; t++)
            {
                sum[t] += data[(r * dim) + t] / norm;
            }
        }
        var length = Math.Sqrt(sum.Sum(v => v * v));
        return [.. sum.Select(v => v / length)];
    }

    private static double Cosine(float[] data, int dim, int row, double[] unit)
    {
        double dot = 0, norm = 0;
        for (var t = 0; t < dim; t++)
        {
            dot += data[(row * dim) + t] * unit[t];
            norm += (double)data[(row * dim) + t] * data[(row * dim) + t];
        }
        return dot / Math.Sqrt(norm);
    }
}
