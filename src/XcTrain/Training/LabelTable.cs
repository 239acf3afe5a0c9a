using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.Sparse;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.XcTrain.Training;

/// <summary>
/// A learnable (labels × D) embedding table that stands in for the label encoder when a dataset
/// has no label texts (label ids only, as in Amazon-670K-style benchmarks): the point side is still
/// the text encoder, the label side is one trained vector per label.
/// </summary>
/// <remarks>
/// <para>Each vector starts as the unit-length mean of the initial encoder's embeddings of the train
/// points that carry the label (a class centroid, <see cref="Classifiers.LabelRepresentation.TrainPointMean"/>),
/// so label retrieval works from the first step instead of from random directions; a label
/// without train points starts in a seeded random direction. NGAME's M-IV classifier starts the same
/// way from label-text embeddings (xc-reference §4.5).</para>
/// <para>The table is dense and trained by the run's AdamW with its own learning rate
/// (<see cref="XcTrainOptions.LabelTableLearningRate"/>) and no weight decay: every label's moments
/// decay each step. That is right for the table sizes a single machine trains end to end; a
/// million-label table wants the sparse update the M-IV classifier has.</para>
/// </remarks>
public sealed class LabelTable : IDisposable
{
    /// <summary>The table's file in a trained encoder folder and in a checkpoint (float32, labels × D).</summary>
    public const string FileName = "label_table.npy";

    /// <summary>The checkpoint array name (<see cref="FileName"/> without the extension).</summary>
    public const string ArrayName = "label_table";

    private LabelTable(Tensor weight, bool normalize)
    {
        Labels = (int)weight.shape[0];
        Dimension = (int)weight.shape[1];
        // The parameter takes over the tensor's native handle; the tensor is unusable afterwards.
        Weight = new TorchSharp.Modules.Parameter(weight, requires_grad: true);
        Normalize = normalize;
    }

    /// <summary>Gets the trained (labels × D) parameter.</summary>
    public TorchSharp.Modules.Parameter Weight { get; }

    /// <summary>Gets whether rows are L2-normalised on the way out, as the encoder normalises its embeddings.</summary>
    public bool Normalize { get; }

    /// <summary>Gets the number of labels.</summary>
    public int Labels { get; }

    /// <summary>Gets the vector size.</summary>
    public int Dimension { get; }

    /// <summary>
    /// Creates the table from class centroids: row l is the mean of <paramref name="points"/>' rows
    /// whose train row has label l (weights ignored), scaled to unit length.
    /// </summary>
    /// <param name="points">(trainRows.Length × dimension) row-major embeddings of <paramref name="trainRows"/>.</param>
    /// <param name="trainRows">The train matrix rows the embeddings belong to.</param>
    /// <param name="matrix">The train matrix (its positive entries link rows to labels).</param>
    /// <param name="dimension">The embedding size.</param>
    /// <param name="normalize">Whether rows are normalised on the way out.</param>
    /// <param name="seed">Seeds the directions of labels without train points.</param>
    /// <param name="device">Where the table lives.</param>
    public static LabelTable FromCentroids(float[] points, IReadOnlyList<int> trainRows, CsrMatrix matrix, int dimension, bool normalize, long seed, Device device)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(trainRows);
        ArgumentNullException.ThrowIfNull(matrix);
        var labels = matrix.Columns;
        var sums = new double[(long)labels * dimension];
        var counts = new int[labels];
        for (var i = 0; i < trainRows.Count; i++)
        {
            var point = points.AsSpan(i * dimension, dimension);
            var columns = matrix.RowIndices(trainRows[i]);
            var values = matrix.RowValues(trainRows[i]);
            for (var e = 0; e < columns.Length; e++)
            {
                if (values[e] <= 0)
                {
                    continue;
                }
                var sum = sums.AsSpan(columns[e] * dimension, dimension);
                for (var j = 0; j < dimension; j++)
                {
                    sum[j] += point[j];
                }
                counts[columns[e]]++;
            }
        }
        var random = new Random(SeedMix.Of(seed, "label-table"));
        var table = new float[(long)labels * dimension];
        for (var l = 0; l < labels; l++)
        {
            var row = table.AsSpan(l * dimension, dimension);
            if (counts[l] > 0)
            {
                var sum = sums.AsSpan(l * dimension, dimension);
                for (var j = 0; j < dimension; j++)
                {
                    row[j] = (float)(sum[j] / counts[l]);
                }
            }
            if (!row.ContainsAnyExcept(0f))
            {
                // A label no train point carries (or a zero centroid): a random direction, Gaussian by Box–Muller.
                for (var j = 0; j < dimension; j++)
                {
                    row[j] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
                }
            }
        }
        Classifiers.Miv.MivClassifier.NormalizeRowsInPlace(table, dimension);
        return FromArray(table, labels, dimension, normalize, device);
    }

    /// <summary>Creates the table from row-major (labels × dimension) values.</summary>
    public static LabelTable FromArray(float[] values, int labels, int dimension, bool normalize, Device device)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.LongLength != (long)labels * dimension)
        {
            throw new ArgumentException($"a {labels} x {dimension} label table needs {(long)labels * dimension} values, found {values.LongLength}", nameof(values));
        }
        return new LabelTable(RowMajor.ToTensor(values, labels, dimension, device), normalize);
    }

    /// <summary>Reads a table written by <see cref="Save"/>.</summary>
    /// <exception cref="SkimFormatException">The file is not a 2-D float32 array.</exception>
    public static LabelTable Load(string path, bool normalize, Device device)
    {
        var array = NpyFile.Read(path);
        if (array.Shape is not [var labels, var dimension] || array.DType != NpyDType.Float32)
        {
            throw new SkimFormatException(path, null, $"expected a 2-D float32 label table (labels x dimension), found {array.DType} of shape ({string.Join(", ", array.Shape)})");
        }
        return FromArray(array.As<float>(), (int)labels, (int)dimension, normalize, device);
    }

    /// <summary>
    /// Reads the label embeddings of the table a trained encoder folder carries (normalised when
    /// <paramref name="normalize"/>), or null when the folder has none (its labels are encoded from text).
    /// </summary>
    /// <exception cref="SkimFormatException">The table does not have <paramref name="labels"/> rows of <paramref name="dimension"/> values.</exception>
    public static float[]? ReadEmbeddings(string encoderDirectory, int labels, int dimension, bool normalize)
    {
        var path = Path.Combine(encoderDirectory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        using var table = Load(path, normalize, CPU);
        if (table.Labels != labels || table.Dimension != dimension)
        {
            throw new SkimFormatException(path, null, $"the label table is {table.Labels} x {table.Dimension}, expected {labels} x {dimension} (the dataset's labels x the encoder's dimension)");
        }
        return table.Embeddings();
    }

    /// <summary>Gets the rows of <paramref name="labels"/>, with gradient: (C, D).</summary>
    public Tensor Forward(IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        using var ids = tensor(labels.Select(l => (long)l).ToArray(), device: Weight.device); // (C)
        var rows = Weight.index_select(0, ids); // (C, D)
        return Normalize ? nn.functional.normalize(rows, p: 2.0, dim: 1, eps: 1e-12) : rows;
    }

    /// <summary>Gets every row as the encoder would emit it (normalised when <see cref="Normalize"/>), row-major (labels × D).</summary>
    public float[] Embeddings()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var rows = Normalize ? nn.functional.normalize(Weight, p: 2.0, dim: 1, eps: 1e-12) : Weight.detach();
        return RowMajor.FromTensor(rows);
    }

    /// <summary>Gets the raw trained values, row-major (labels × D).</summary>
    public NpyArray ToArray()
    {
        using var noGrad = no_grad();
        return NpyArray.Create(RowMajor.FromTensor(Weight.detach()), Labels, Dimension);
    }

    /// <summary>Writes the raw values as a float32 .npy (atomically).</summary>
    public void Save(string path) => NpyFile.Write(path, ToArray());

    /// <summary>Replaces the values with a checkpoint's.</summary>
    /// <exception cref="SkimFormatException">The array has another shape.</exception>
    public void Load(NpyArray array, string source)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Shape is not [var labels, var dimension] || labels != Labels || dimension != Dimension || array.DType != NpyDType.Float32)
        {
            throw new SkimFormatException(source, null, $"expected a {Labels} x {Dimension} float32 label table, found {array.DType} of shape ({string.Join(", ", array.Shape)})");
        }
        using var noGrad = no_grad();
        using var host = tensor(array.As<float>(), [Labels, Dimension], ScalarType.Float32); // (L, D)
        Weight.copy_(host);
    }

    /// <inheritdoc />
    public void Dispose() => Weight.Dispose();
}
