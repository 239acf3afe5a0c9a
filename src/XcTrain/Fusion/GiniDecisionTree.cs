namespace Skim.XcTrain.Fusion;

/// <summary>
/// A binary classification tree grown as scikit-learn's <c>DecisionTreeClassifier(max_depth=d)</c>
/// with its defaults grows one (CART, gini impurity, best split, min_samples_split 2,
/// min_samples_leaf 1, no impurity threshold): what NGAME's score fusion fits (xc-reference §2.5).
/// </summary>
/// <remarks>
/// <para>Written here rather than taken from ML.NET: Microsoft.ML.FastTree grows boosted regression
/// ensembles on binned features, not one gini tree on exact thresholds, so it cannot give the
/// probabilities NGAME's fusion uses, and ML.NET would be a large dependency for a three-feature tree.</para>
/// <para>scikit-learn's rules kept: features are float32; candidate thresholds are the midpoints
/// <c>x[p−1]/2 + x[p]/2</c> (in double) between sorted values more than 1e-7 apart (the lower value
/// when the midpoint rounds up to the upper); the split maximising
/// <c>−n_left·gini_left − n_right·gini_right</c> wins, the first found on ties (splits leaving a side
/// with fewer than min_samples_leaf samples are not candidates); a node stops at the depth limit, below
/// 2 (or 2·min_samples_leaf) samples, or when pure (gini ≤ double epsilon). Deterministic: features are
/// tried in index order (scikit-learn permutes them with its random state, which matters only for
/// exact ties between features).</para>
/// </remarks>
public sealed class GiniDecisionTree
{
    private const double FeatureThreshold = 1e-7;

    // C's DBL_EPSILON, scikit-learn's purity test (.NET's double.Epsilon is the smallest subnormal instead).
    private const double Purity = 2.220446049250313e-16;

    private readonly List<Node> _nodes = [];

    private GiniDecisionTree(int features, int maxDepth, int minLeaf)
    {
        Features = features;
        MaxDepth = maxDepth;
        MinLeaf = minLeaf;
    }

    /// <summary>Gets the number of features a sample has.</summary>
    public int Features { get; }

    /// <summary>Gets the depth limit the tree was grown with.</summary>
    public int MaxDepth { get; }

    /// <summary>Gets the fewest samples a leaf may hold (scikit-learn's min_samples_leaf).</summary>
    public int MinLeaf { get; }

    /// <summary>Gets the number of nodes (splits and leaves).</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>Gets the depth of the deepest leaf (0 for a single leaf).</summary>
    public int Depth { get; private set; }

    /// <summary>
    /// Grows a tree on <paramref name="samples"/> (row-major, samples × features) with 0/1
    /// <paramref name="targets"/>; no leaf holds fewer than <paramref name="minLeaf"/> samples
    /// (scikit-learn's min_samples_leaf: 1 is its default).
    /// </summary>
    /// <exception cref="ArgumentException">The arrays' lengths disagree, or there are no samples.</exception>
    public static GiniDecisionTree Fit(float[] samples, bool[] targets, int features, int maxDepth, int minLeaf = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minLeaf);
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDepth);
        if (samples.LongLength != (long)targets.Length * features)
        {
            throw new ArgumentException($"{targets.Length} samples of {features} features need {(long)targets.Length * features} values, found {samples.LongLength}", nameof(samples));
        }
        if (targets.Length == 0)
        {
            throw new ArgumentException("a tree needs at least one sample", nameof(targets));
        }
        var tree = new GiniDecisionTree(features, maxDepth, minLeaf);
        var order = Enumerable.Range(0, targets.Length).ToArray();
        var builder = new Builder(samples, targets, features, maxDepth, minLeaf, tree._nodes, new float[targets.Length], new int[targets.Length]);
        builder.Grow(order, 0, order.Length, 0);
        tree.Depth = builder.DeepestLeaf;
        return tree;
    }

    /// <summary>Gets P(y = 1) for one sample: the share of positive training samples in its leaf.</summary>
    public double PredictProbability(ReadOnlySpan<float> sample)
    {
        if (sample.Length != Features)
        {
            throw new ArgumentException($"expected {Features} features, found {sample.Length}", nameof(sample));
        }
        var node = _nodes[0];
        while (node.Feature >= 0)
        {
            node = _nodes[sample[node.Feature] <= node.Threshold ? node.Left : node.Right];
        }
        return (double)node.Positives / node.Count;
    }

    /// <summary>Gets P(y = 1) for each row of <paramref name="samples"/> (row-major, samples × features).</summary>
    public double[] PredictProbabilities(float[] samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var result = new double[samples.Length / Features];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = PredictProbability(samples.AsSpan(i * Features, Features));
        }
        return result;
    }

    // Feature < 0 marks a leaf.
    private record struct Node(int Feature, double Threshold, int Left, int Right, int Positives, int Count);

    private sealed class Builder(float[] samples, bool[] targets, int features, int maxDepth, int minLeaf, List<Node> nodes, float[] keys, int[] items)
    {
        public int DeepestLeaf { get; private set; }

        // Grows the node over order[start..end) and returns its index.
        public int Grow(int[] order, int start, int end, int depth)
        {
            var count = end - start;
            var positives = 0;
            for (var i = start; i < end; i++)
            {
                positives += targets[order[i]] ? 1 : 0;
            }
            var index = nodes.Count;
            nodes.Add(new Node(-1, 0, -1, -1, positives, count));
            var impurity = Gini(positives, count);
            if (depth >= maxDepth || count < 2 || count < 2 * minLeaf || impurity <= Purity)
            {
                DeepestLeaf = Math.Max(DeepestLeaf, depth);
                return index;
            }
            var (feature, threshold) = BestSplit(order, start, end, positives);
            if (feature < 0)
            {
                DeepestLeaf = Math.Max(DeepestLeaf, depth);
                return index;
            }
            // Partition: samples at or below the threshold first.
            var left = new List<int>(count);
            var right = new List<int>(count);
            for (var i = start; i < end; i++)
            {
                (samples[((long)order[i] * features) + feature] <= threshold ? left : right).Add(order[i]);
            }
            left.CopyTo(order, start);
            right.CopyTo(order, start + left.Count);
            var leftChild = Grow(order, start, start + left.Count, depth + 1);
            var rightChild = Grow(order, start + left.Count, end, depth + 1);
            nodes[index] = new Node(feature, threshold, leftChild, rightChild, positives, count);
            return index;
        }

        private (int Feature, double Threshold) BestSplit(int[] order, int start, int end, int positives)
        {
            var count = end - start;
            var bestProxy = double.NegativeInfinity;
            var (bestFeature, bestThreshold) = (-1, 0.0);
            var xs = keys.AsSpan(0, count);
            var ids = items.AsSpan(0, count);
            for (var f = 0; f < features; f++)
            {
                for (var i = 0; i < count; i++)
                {
                    ids[i] = order[start + i];
                    xs[i] = samples[((long)ids[i] * features) + f];
                }
                xs.Sort(ids);
                if (xs[count - 1] <= xs[0] + FeatureThreshold)
                {
                    continue; // constant in this node
                }
                var leftPositives = 0;
                for (var p = 1; p < count; p++)
                {
                    leftPositives += targets[ids[p - 1]] ? 1 : 0;
                    if (xs[p] <= xs[p - 1] + FeatureThreshold || p < minLeaf || count - p < minLeaf)
                    {
                        continue;
                    }
                    var leftCount = p;
                    var rightCount = count - p;
                    var proxy = -(leftCount * Gini(leftPositives, leftCount)) - (rightCount * Gini(positives - leftPositives, rightCount));
                    if (proxy > bestProxy)
                    {
                        bestProxy = proxy;
                        bestFeature = f;
                        double threshold = (xs[p - 1] / 2.0) + (xs[p] / 2.0);
                        if (threshold == xs[p] || double.IsInfinity(threshold))
                        {
                            threshold = xs[p - 1];
                        }
                        bestThreshold = threshold;
                    }
                }
            }
            return (bestFeature, bestThreshold);
        }

        // Gini impurity of two classes as scikit-learn sums it: 1 − Σ_k n_k² / n².
        private static double Gini(int positives, int count)
        {
            double n = count;
            double squares = ((double)positives * positives) + ((double)(count - positives) * (count - positives));
            return 1.0 - (squares / (n * n));
        }
    }
}
