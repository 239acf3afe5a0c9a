using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npz;
using Skim.Core.Manifests;
using Skim.Core.Sparse;

namespace Skim.XcTrain.Tests.Comparison;

/// <summary>
/// A small DEXML-layout dataset with simulated missing labels (30 labels with head-heavy
/// frequencies, 120 train and 40 test points, test filter pairs) and two finished "runs" — folders
/// holding a train manifest and <c>tst_scores.npz</c> — without any training: a baseline and a run
/// trained on an augmented matrix that recovered half the missing pairs.
/// </summary>
internal sealed class ComparisonFixture
{
    public const int Labels = 30;

    public ComparisonFixture(TempDirectory dir)
    {
        Dataset = dir.File("ds");
        Directory.CreateDirectory(Path.Combine(Dataset, "raw"));
        Full = Matrix(120, seed: 1);
        Observed = MissingLabelSimulation.Drop(Full, new MissingLabelSimulationOptions { Seed = 3 });
        Test = Matrix(40, seed: 2);
        File.WriteAllLines(Path.Combine(Dataset, XcDatasetFiles.DexmlTrainTexts), Enumerable.Range(0, Full.Rows).Select(i => $"train {i}"));
        File.WriteAllLines(Path.Combine(Dataset, XcDatasetFiles.DexmlTestTexts), Enumerable.Range(0, Test.Rows).Select(i => $"test {i}"));
        File.WriteAllLines(Path.Combine(Dataset, XcDatasetFiles.DexmlLabelTexts), Enumerable.Range(0, Labels).Select(l => $"label {l}"));
        SparseNpz.Save(Path.Combine(Dataset, XcDatasetFiles.DexmlTrainLabels), Observed);
        SparseNpz.Save(Path.Combine(Dataset, XcDatasetFiles.DexmlFullTrainLabels), Full);
        SparseNpz.Save(Path.Combine(Dataset, XcDatasetFiles.DexmlTestLabels), Test);
        // Filter a true pair and a predicted false one of the first rows.
        File.WriteAllText(Path.Combine(Dataset, XcDatasetFiles.TestFilter),
            string.Create(CultureInfo.InvariantCulture, $"0 {Test.RowIndices(0)[0]}\n1 {(Test.RowIndices(1)[0] + 1) % Labels}\n"));

        (Augmented, AddedPairs, RecoveredPairs, RemovedPairs) = Augment(Observed, Full);
        AugmentedPath = dir.File("trn_X_Y_skim.npz");
        SparseNpz.Save(AugmentedPath, Augmented);

        Baseline = WriteRun(dir.File("runs/base"), Dataset, null, Scores(Test, seed: 10, tailBonus: 0));
        Skim = WriteRun(dir.File("runs/skim"), Dataset, AugmentedPath, Scores(Test, seed: 11, tailBonus: 0.6));
    }

    public string Dataset { get; }

    public CsrMatrix Full { get; }

    public CsrMatrix Observed { get; }

    public CsrMatrix Test { get; }

    public CsrMatrix Augmented { get; }

    public string AugmentedPath { get; }

    public long AddedPairs { get; }

    public long RecoveredPairs { get; }

    public long RemovedPairs { get; }

    public string Baseline { get; }

    public string Skim { get; }

    public static string WriteRun(string folder, string dataset, string? trainMatrix, CsrMatrix scores)
    {
        Directory.CreateDirectory(folder);
        var options = new JsonObject { ["dataset_directory"] = dataset, ["output_directory"] = folder };
        if (trainMatrix is not null)
        {
            options["train_matrix_path"] = trainMatrix;
        }
        new RunManifest { Stage = "train", Options = options, Complete = true }.Write(folder);
        SparseNpz.Save(Path.Combine(folder, "tst_scores.npz"), scores);
        return folder;
    }

    // Each point has 1–4 labels drawn with a strong head bias (label ≈ L·u³).
    private static CsrMatrix Matrix(int rows, int seed)
    {
        var random = new Random(seed);
        var result = new int[rows][];
        for (var i = 0; i < rows; i++)
        {
            var count = 1 + random.Next(4);
            result[i] = [.. Enumerable.Range(0, count).Select(_ => (int)(Labels * Math.Pow(random.NextDouble(), 3))).Distinct().Order()];
        }
        return CsrMatrix.FromRows(Labels, result);
    }

    // Every label scored for every point: noise, a bonus for true labels, and for the "SKIM" run an
    // extra bonus for tail labels (id ≥ 10), where its gains should land.
    public static CsrMatrix Scores(CsrMatrix truth, int seed, double tailBonus)
    {
        var random = new Random(seed);
        var rows = new int[truth.Rows][];
        var values = new float[truth.Rows][];
        for (var i = 0; i < truth.Rows; i++)
        {
            var positives = truth.RowIndices(i).ToArray();
            rows[i] = [.. Enumerable.Range(0, Labels)];
            values[i] = [.. Enumerable.Range(0, Labels).Select(l =>
                (float)(random.NextDouble() + (positives.Contains(l) ? 0.5 + (l >= 10 ? tailBonus : 0) : 0)))];
        }
        return CsrMatrix.FromRows(Labels, rows, values);
    }

    // Adds back every second removed pair (row order) and one false pair per fifth row.
    private static (CsrMatrix, long Added, long Recovered, long Removed) Augment(CsrMatrix observed, CsrMatrix full)
    {
        var rows = new int[observed.Rows][];
        var vals = new float[observed.Rows][];
        long added = 0, recovered = 0, removed = 0, seen = 0;
        for (var i = 0; i < observed.Rows; i++)
        {
            var labels = new SortedDictionary<int, float>();
            foreach (var l in observed.RowIndices(i))
            {
                labels[l] = 1;
            }
            foreach (var l in full.RowIndices(i))
            {
                if (labels.ContainsKey(l))
                {
                    continue;
                }
                removed++;
                if (seen++ % 2 == 0)
                {
                    labels[l] = 0.9f;
                    added++;
                    recovered++;
                }
            }
            if (i % 5 == 0)
            {
                var wrong = Enumerable.Range(0, Labels).First(l => !labels.ContainsKey(l) && !full.RowIndices(i).Contains(l));
                labels[wrong] = 0.85f;
                added++;
            }
            rows[i] = [.. labels.Keys];
            vals[i] = [.. labels.Values];
        }
        return (CsrMatrix.FromRows(Labels, rows, vals), added, recovered, removed);
    }
}
