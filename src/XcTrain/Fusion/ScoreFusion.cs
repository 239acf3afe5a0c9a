using Skim.Core;
using Skim.Core.Sparse;

using Skim.XcTrain.Prediction;

namespace Skim.XcTrain.Fusion;

/// <summary>How classifier and label-embedding scores are fused.</summary>
public enum FusionKind
{
    /// <summary>NGAME's fusion: a depth-7 gini tree on [classifier score, label-embedding score, inverse propensity], fused = β·(p + s_label) + s_clf.</summary>
    Tree,

    /// <summary>A weighted sum: (1 − w)·s_clf + w·s_label; w = 0 gives the classifier scores exactly.</summary>
    Sum,
}

/// <summary>
/// NGAME's score fusion (<c>tools/score_fusion.py</c>, xc-reference §2.5): for every label the
/// classifier scored for a point, the features <c>[s_clf, s_label (0 when absent), w_l]</c> (w the
/// inverse propensity) go through a <see cref="GiniDecisionTree"/> fitted on training rows, whose
/// P(relevant) joins the scores as <c>β·(p + s_label) + s_clf</c>; labels only label retrieval found
/// get <c>β·s_label</c>. Also the plain weighted sum.
/// </summary>
public static class ScoreFusion
{
    /// <summary>The number of features per (point, label) pair.</summary>
    public const int FeatureCount = 3;

    /// <summary>
    /// The features and targets of every stored (row, label) of <paramref name="classifier"/>:
    /// <c>[s_clf, s_label or 0, w_l]</c> and whether <paramref name="truth"/> holds a value above 0
    /// there. Pairs in <paramref name="excluded"/> (row-major (row, label) keys <c>row·L + label</c>) are skipped.
    /// </summary>
    /// <exception cref="SkimDataException">The matrices disagree in shape, or the weights in length.</exception>
    public static (float[] Samples, bool[] Targets) Features(CsrMatrix classifier, CsrMatrix labelScores, CsrMatrix? truth, double[] inversePropensity, ISet<long>? excluded = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(labelScores);
        ArgumentNullException.ThrowIfNull(inversePropensity);
        CheckShapes(classifier, labelScores, inversePropensity);
        if (truth is not null && (truth.Rows != classifier.Rows || truth.Columns != classifier.Columns))
        {
            throw new SkimDataException(null, null, $"fusion ground truth is {truth.Rows} x {truth.Columns}, expected {classifier.Rows} x {classifier.Columns}");
        }
        var samples = new List<float>(classifier.NonZeros * FeatureCount);
        var targets = new List<bool>(classifier.NonZeros);
        var labelRow = new Dictionary<int, float>();
        for (var r = 0; r < classifier.Rows; r++)
        {
            Row(labelScores, r, labelRow);
            var labels = classifier.RowIndices(r);
            var values = classifier.RowValues(r);
            for (var e = 0; e < labels.Length; e++)
            {
                var label = labels[e];
                if (excluded is not null && excluded.Contains(((long)r * classifier.Columns) + label))
                {
                    continue;
                }
                samples.Add(values[e]);
                samples.Add(labelRow.GetValueOrDefault(label));
                samples.Add((float)inversePropensity[label]);
                targets.Add(truth is not null && IsPositive(truth, r, label));
            }
        }
        return ([.. samples], [.. targets]);
    }

    /// <summary>
    /// Fits NGAME's fusion tree on the stored pairs of training rows' classifier scores, with targets
    /// from their ground truth.
    /// </summary>
    public static GiniDecisionTree Fit(CsrMatrix classifier, CsrMatrix labelScores, CsrMatrix truth, double[] inversePropensity, int maxDepth = 7, ISet<long>? excluded = null, int minLeaf = 1)
    {
        ArgumentNullException.ThrowIfNull(truth);
        var (samples, targets) = Features(classifier, labelScores, truth, inversePropensity, excluded);
        if (targets.Length == 0)
        {
            throw new SkimDataException(null, null, "score fusion found no scored (point, label) pair among the training rows to fit on");
        }
        return GiniDecisionTree.Fit(samples, targets, FeatureCount, maxDepth, minLeaf);
    }

    /// <summary>
    /// <c>β·(p + s_label) + s_clf</c> over the union of each row's labels (p only where the classifier
    /// scored), keeping the <paramref name="topK"/> best (score descending, then label ascending).
    /// </summary>
    public static CsrMatrix Predict(GiniDecisionTree tree, CsrMatrix classifier, CsrMatrix labelScores, double[] inversePropensity, double beta, int topK)
    {
        ArgumentNullException.ThrowIfNull(tree);
        var (samples, _) = Features(classifier, labelScores, null, inversePropensity);
        var probabilities = tree.PredictProbabilities(samples);
        var rows = new Dictionary<int, float>[classifier.Rows];
        var at = 0;
        for (var r = 0; r < classifier.Rows; r++)
        {
            var fused = new Dictionary<int, float>();
            var labels = labelScores.RowIndices(r);
            var values = labelScores.RowValues(r);
            for (var e = 0; e < labels.Length; e++)
            {
                fused[labels[e]] = (float)(beta * values[e]);
            }
            labels = classifier.RowIndices(r);
            values = classifier.RowValues(r);
            for (var e = 0; e < labels.Length; e++)
            {
                fused[labels[e]] = (float)(fused.GetValueOrDefault(labels[e]) + (beta * probabilities[at++]) + values[e]);
            }
            rows[r] = fused;
        }
        return XcPredictor.TopRows(rows, classifier.Columns, topK);
    }

    /// <summary>
    /// <c>(1 − weight)·s_clf + weight·s_label</c> over the union of each row's labels (a missing entry
    /// counts 0), keeping the <paramref name="topK"/> best. Weight 0 adds no label-retrieval entry, so
    /// it returns the classifier scores exactly (their top-k).
    /// </summary>
    public static CsrMatrix WeightedSum(CsrMatrix classifier, CsrMatrix labelScores, double weight, int topK)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(labelScores);
        if (classifier.Rows != labelScores.Rows || classifier.Columns != labelScores.Columns)
        {
            throw new SkimDataException(null, null, $"fused score matrices must have one shape, found {classifier.Rows} x {classifier.Columns} and {labelScores.Rows} x {labelScores.Columns}");
        }
        var rows = new Dictionary<int, float>[classifier.Rows];
        for (var r = 0; r < classifier.Rows; r++)
        {
            var fused = new Dictionary<int, float>();
            Add(fused, classifier, r, 1 - weight);
            Add(fused, labelScores, r, weight);
            rows[r] = fused;
        }
        return XcPredictor.TopRows(rows, classifier.Columns, topK);
    }

    private static void Add(Dictionary<int, float> into, CsrMatrix matrix, int row, double weight)
    {
        if (weight == 0)
        {
            // A side without weight adds no entries: weight 0 reproduces the other side exactly.
            return;
        }
        var labels = matrix.RowIndices(row);
        var values = matrix.RowValues(row);
        for (var e = 0; e < labels.Length; e++)
        {
            into[labels[e]] = weight == 1
                ? into.GetValueOrDefault(labels[e]) + values[e]
                : (float)(into.GetValueOrDefault(labels[e]) + (weight * values[e]));
        }
    }

    private static void Row(CsrMatrix matrix, int row, Dictionary<int, float> into)
    {
        into.Clear();
        var labels = matrix.RowIndices(row);
        var values = matrix.RowValues(row);
        for (var e = 0; e < labels.Length; e++)
        {
            into[labels[e]] = values[e];
        }
    }

    private static bool IsPositive(CsrMatrix truth, int row, int label)
    {
        // A linear scan: rows are short, and a matrix read from .npz need not have sorted indices.
        var at = truth.RowIndices(row).IndexOf(label);
        return at >= 0 && truth.RowValues(row)[at] > 0;
    }

    private static void CheckShapes(CsrMatrix classifier, CsrMatrix labelScores, double[] inversePropensity)
    {
        if (classifier.Rows != labelScores.Rows || classifier.Columns != labelScores.Columns)
        {
            throw new SkimDataException(null, null, $"classifier scores are {classifier.Rows} x {classifier.Columns} but label-embedding scores {labelScores.Rows} x {labelScores.Columns}; expected one shape");
        }
        if (inversePropensity.Length != classifier.Columns)
        {
            throw new SkimDataException(null, null, $"expected one inverse propensity per label ({classifier.Columns}), found {inversePropensity.Length}");
        }
    }
}
