using Skim.Core;
using Skim.Core.Sparse;
using Skim.Models.Search;

namespace Skim.XcTrain.Classifiers;

/// <summary>
/// The simplest XC model, used as a baseline: a test point's label scores are the inner products of
/// its embedding with each label's representation (the label text's embedding or the mean of the
/// label's training points), and the top-k become a sparse score matrix for the XC metrics.
/// </summary>
public static class EmbeddingKnnClassifier
{
    /// <summary>
    /// Builds the label representations <paramref name="options"/> asks for: the label-text
    /// embeddings as given, or the means of the training points linked to each label.
    /// </summary>
    /// <param name="options">Selects the representation.</param>
    /// <param name="labelText">(labels × D) label-text embeddings; needed for <see cref="LabelRepresentation.LabelText"/>.</param>
    /// <param name="trainPoints">(points × D) training point embeddings; needed for <see cref="LabelRepresentation.TrainPointMean"/>.</param>
    /// <param name="trainMatrix">(points × labels) training matrix; needed for <see cref="LabelRepresentation.TrainPointMean"/>.</param>
    /// <exception cref="SkimConfigException">The inputs the representation needs are missing.</exception>
    /// <exception cref="SkimDataException">The training matrix and the embeddings disagree on the number of points.</exception>
    public static EmbeddingRows LabelRepresentations(
        EmbeddingKnnOptions options,
        EmbeddingRows? labelText = null,
        EmbeddingRows? trainPoints = null,
        CsrMatrix? trainMatrix = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Representation == LabelRepresentation.LabelText)
        {
            return labelText ?? throw new SkimConfigException("representation label-text: label embeddings are needed but none were given");
        }
        if (trainPoints is null || trainMatrix is null)
        {
            throw new SkimConfigException("representation train-point-mean: training point embeddings and the training matrix are needed");
        }
        var means = TrainPointMeans(trainPoints, trainMatrix, options.NormalizeMeans);
        return EmbeddingRows.FromArray(means, trainMatrix.Columns, trainPoints.Dimension, "train-point means");
    }

    /// <summary>
    /// Returns the (labels × D) row-major mean of the embeddings of each label's training points (the
    /// points with a non-zero entry in the label's column), optionally L2-normalised. A label with no
    /// training point gets a zero vector, so it scores 0 against every test point.
    /// </summary>
    /// <exception cref="SkimDataException">The matrix and the embeddings disagree on the number of points.</exception>
    public static float[] TrainPointMeans(EmbeddingRows trainPoints, CsrMatrix trainMatrix, bool normalize)
    {
        ArgumentNullException.ThrowIfNull(trainPoints);
        ArgumentNullException.ThrowIfNull(trainMatrix);
        if (trainMatrix.Rows != trainPoints.Rows)
        {
            throw new SkimDataException(trainPoints.Name, null, $"expected one embedding per row of the training matrix ({trainMatrix.Rows}), found {trainPoints.Rows}");
        }
        var d = trainPoints.Dimension;
        CsrMatrix.EnsureNonZerosFit((long)trainMatrix.Columns * d, "train-point means");
        var sums = new double[(long)trainMatrix.Columns * d];
        var counts = new int[trainMatrix.Columns];
        var point = new float[d];
        for (var p = 0; p < trainMatrix.Rows; p++)
        {
            var labels = trainMatrix.RowIndices(p);
            if (labels.IsEmpty)
            {
                continue;
            }
            trainPoints.ReadRows(p, point);
            var values = trainMatrix.RowValues(p);
            for (var j = 0; j < labels.Length; j++)
            {
                if (values[j] == 0)
                {
                    continue;
                }
                var sum = sums.AsSpan(labels[j] * d, d);
                for (var t = 0; t < d; t++)
                {
                    sum[t] += point[t];
                }
                counts[labels[j]]++;
            }
        }
        var means = new float[sums.Length];
        for (var l = 0; l < counts.Length; l++)
        {
            if (counts[l] == 0)
            {
                continue;
            }
            var sum = sums.AsSpan(l * d, d);
            var scale = 1.0 / counts[l];
            if (normalize)
            {
                var norm = 0.0;
                foreach (var v in sum)
                {
                    norm += v * v;
                }
                scale = norm > 0 ? 1.0 / Math.Sqrt(norm) : 0;
            }
            for (var t = 0; t < d; t++)
            {
                means[(l * d) + t] = (float)(sum[t] * scale);
            }
        }
        return means;
    }

    /// <summary>
    /// Scores every test point against every label and keeps the top-k: a (test × labels) matrix
    /// whose rows hold min(TopK, labels) entries in score order (best first; equal scores by label id).
    /// </summary>
    /// <exception cref="SkimConfigException">The embedding sizes differ or an option is invalid.</exception>
    public static CsrMatrix Predict(
        EmbeddingRows test,
        EmbeddingRows labels,
        EmbeddingKnnOptions? options = null,
        IProgress<ExactKnnProgress>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(labels);
        options ??= new EmbeddingKnnOptions();
        options.Validate();
        if (labels.Rows > int.MaxValue || test.Rows > int.MaxValue)
        {
            throw new SkimConfigException($"{test.Name}: a score matrix holds at most {int.MaxValue} rows and columns");
        }
        if (labels.Rows == 0)
        {
            return CsrMatrix.Empty((int)test.Rows, 0);
        }
        var k = (int)Math.Min(options.TopK, labels.Rows);
        var knn = ExactKnn.Search(test, labels, new ExactKnnOptions
        {
            K = k,
            QueryBlockSize = options.QueryBlockSize,
            DatabaseBlockSize = options.LabelBlockSize,
            Device = options.Device,
        }, progress, ct);
        var indPtr = new int[knn.Rows + 1];
        for (var r = 0; r < knn.Rows; r++)
        {
            indPtr[r + 1] = indPtr[r] + k;
        }
        return new CsrMatrix(knn.Rows, (int)labels.Rows, indPtr, knn.Indices, knn.Scores);
    }
}
