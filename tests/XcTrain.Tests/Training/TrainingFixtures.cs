namespace Skim.XcTrain.Tests.Training;

/// <summary>The datasets the training tests use.</summary>
internal static class TrainingFixtures
{
    /// <summary>The bundled demo dataset (XC layout, manual pages).</summary>
    public static string Demo => Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo");

    /// <summary>A small learnable dataset (see <see cref="SyntheticXcDataset.Write"/>).</summary>
    public static string Synthetic(TempDirectory dir, int train = 48, int labels = 8, int test = 16, Func<int, int[]>? trainLabels = null) =>
        SyntheticXcDataset.Write(dir, train, labels, test, trainLabels);
}
