using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npz;
using Skim.Core.Formats.XcText;
using Skim.Core.Sparse;

namespace Skim.XcTrain.Training;

/// <summary>
/// What training reads from a dataset: the train texts, the label texts, the train matrix (the
/// dataset's or one given, such as SKIM's augmented matrix), and a seeded split of the train points
/// with at least one positive into rows to train on and rows to validate on. The test split is
/// never used for model selection (DEXML selects on test: xc-reference §3.3).
/// </summary>
public sealed class TrainingData
{
    private TrainingData(XcDataset dataset, CsrMatrix trainMatrix, string matrixSource, int[] trainRows, int[] validationRows, int rowsWithoutLabels)
    {
        Dataset = dataset;
        TrainMatrix = trainMatrix;
        MatrixSource = matrixSource;
        TrainRows = trainRows;
        ValidationRows = validationRows;
        RowsWithoutLabels = rowsWithoutLabels;
    }

    /// <summary>Gets the dataset.</summary>
    public XcDataset Dataset { get; }

    /// <summary>Gets the (train points × labels) matrix trained on; its values weight positive sampling.</summary>
    public CsrMatrix TrainMatrix { get; }

    /// <summary>Gets the file the train matrix came from (or the dataset folder).</summary>
    public string MatrixSource { get; }

    /// <summary>Gets the train points trained on (each with at least one positive), ascending.</summary>
    public int[] TrainRows { get; }

    /// <summary>Gets the train points held out for validation, ascending.</summary>
    public int[] ValidationRows { get; }

    /// <summary>Gets the number of train points skipped because their row has no positive.</summary>
    public int RowsWithoutLabels { get; }

    /// <summary>Gets the train point texts.</summary>
    public IReadOnlyList<string> PointTexts => Dataset.TrainTexts;

    /// <summary>Gets the label texts.</summary>
    public IReadOnlyList<string> LabelTexts => Dataset.LabelTexts;

    /// <summary>Gets the number of labels.</summary>
    public int Labels => TrainMatrix.Columns;

    /// <summary>Loads and checks the data of <paramref name="options"/> and splits it with the options' seed.</summary>
    /// <exception cref="SkimDataException">The matrix does not fit the texts, or no row is left to train on.</exception>
    public static TrainingData Load(XcTrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dataset = XcDataset.Open(options.DatasetDirectory);
        var source = options.TrainMatrixPath ?? options.DatasetDirectory;
        var matrix = options.TrainMatrixPath is { } path ? ReadMatrix(path) : dataset.TrainLabels;
        var points = dataset.TrainTexts.Count;
        if (matrix.Rows != points)
        {
            throw new SkimDataException(source, null, $"train matrix has {matrix.Rows} rows but the dataset has {points} train texts; expected one row per train text");
        }
        if (matrix.Columns != dataset.LabelTexts.Count)
        {
            throw new SkimDataException(source, null, $"train matrix has {matrix.Columns} label columns but the dataset has {dataset.LabelTexts.Count} label texts; expected one column per label");
        }
        var labelled = Labelled(matrix);
        if (labelled.Length == 0)
        {
            throw new SkimDataException(source, null, $"no train point has a positive label ({matrix.Rows} rows, {matrix.NonZeros} stored values); nothing to train on");
        }
        var (train, validation) = Split(labelled, options.ValidationFraction, options.Seed);
        if (train.Length == 0)
        {
            throw new SkimDataException(source, null, $"only {labelled.Length} train points have labels and all went to validation; lower --validation-fraction");
        }
        return new TrainingData(dataset, matrix, source, train, validation, matrix.Rows - labelled.Length);
    }

    /// <summary>
    /// The split <see cref="Load"/> makes of <paramref name="matrix"/>'s labelled rows for a validation
    /// fraction and seed: a finished run's train and validation rows, recomputed from its options.
    /// </summary>
    internal static (int[] Train, int[] Validation) SplitRows(CsrMatrix matrix, double fraction, long seed) =>
        Split(Labelled(matrix), fraction, seed);

    private static int[] Labelled(CsrMatrix matrix) => Enumerable.Range(0, matrix.Rows).Where(r => HasPositive(matrix, r)).ToArray();

    private static CsrMatrix ReadMatrix(string path)
    {
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "no such train matrix file");
        }
        return path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) ? XcSparseText.Read(path) : SparseNpz.Load(path);
    }

    private static bool HasPositive(CsrMatrix matrix, int row)
    {
        foreach (var value in matrix.RowValues(row))
        {
            if (value > 0)
            {
                return true;
            }
        }
        return false;
    }

    // A seeded shuffle of the labelled rows: the first share validates, the rest trains (both sorted).
    private static (int[] Train, int[] Validation) Split(int[] rows, double fraction, long seed)
    {
        if (fraction <= 0 || rows.Length < 2)
        {
            return (rows, []);
        }
        var shuffled = (int[])rows.Clone();
        new Random(SeedMix.Of(seed, "validation-split")).Shuffle(shuffled);
        var count = Math.Clamp((int)Math.Ceiling(rows.Length * fraction), 1, rows.Length - 1);
        var validation = shuffled[..count];
        var train = shuffled[count..];
        Array.Sort(validation);
        Array.Sort(train);
        return (train, validation);
    }
}
