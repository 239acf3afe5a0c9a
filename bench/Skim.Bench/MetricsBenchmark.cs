using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Skim.Core.Formats.Npz;
using Skim.Core.Metrics;
using Skim.Core.Sparse;

namespace Skim.Bench;

/// <summary>
/// XC metrics (P, nDCG, PSP, PSnDCG, R at k = 1..100) on a 100,000 × 10,000 top-100 score matrix
/// against the numpy reference (bench/reference/xc_metrics.py) on the same .npz inputs. Only the
/// metric computation is timed on both sides (file loading excluded); each side reports its best of
/// three runs, after one warm-up run for .NET.
/// </summary>
public sealed class MetricsBenchmark : IBenchScenario
{
    private const int Rows = 100_000;
    private const int Labels = 10_000;
    private const int TopK = 100;
    private const int TrainRows = 100_000;
    private const int Repeats = 3;

    /// <inheritdoc />
    public string Name => "metrics";

    /// <inheritdoc />
    public string Description => $"P/nDCG/PSP/PSnDCG/R@1..{TopK} on a {Rows:N0} x {Labels:N0} top-{TopK} score matrix vs numpy";

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var dir = Path.Combine(workDirectory, "metrics");
        Directory.CreateDirectory(dir);
        var truthPath = Path.Combine(dir, "tst_X_Y.npz");
        var trainPath = Path.Combine(dir, "trn_X_Y.npz");
        var scoresPath = Path.Combine(dir, "scores.npz");
        var random = new Random(20250101);
        var truth = RandomLabels(random, Rows);
        var train = RandomLabels(random, TrainRows);
        var scores = RandomScores(random, truth);
        SparseNpz.Save(truthPath, truth, new SparseNpzOptions { Compressed = false });
        SparseNpz.Save(trainPath, train, new SparseNpzOptions { Compressed = false });
        SparseNpz.Save(scoresPath, scores, new SparseNpzOptions { Compressed = false });

        // Inputs are loaded back from the files so both sides score exactly the same matrices.
        truth = SparseNpz.Load(truthPath);
        train = SparseNpz.Load(trainPath);
        scores = SparseNpz.Load(scoresPath);
        var options = new XcMetricsOptions { MaxK = TopK, InversePropensity = InversePropensity.Compute(train, 0.55, 1.5) };
        var ours = XcMetrics.Evaluate(scores, truth, options, ct);
        var all = Best(() => XcMetrics.Evaluate(scores, truth, options, ct));
        var single = Best(() => XcMetrics.Evaluate(scores, truth, options with { MaxDegreeOfParallelism = 1 }, ct));

        var json = await BenchPython.RunAsync(
            "xc_metrics.py",
            ["--truth", truthPath, "--scores", scoresPath, "--train", trainPath, "--A", "0.55", "--B", "1.5",
             "--k", "1,3,5,10,100", "--repeat", Repeats.ToString(CultureInfo.InvariantCulture)],
            ct).ConfigureAwait(false);
        using var reference = JsonDocument.Parse(json);
        var numpySeconds = reference.RootElement.GetProperty("seconds").GetDouble();
        var maxDifference = MaxDifference(reference.RootElement, ours);

        output.WriteLine($"score matrix: {scores.Rows:N0} x {scores.Columns:N0}, {scores.NonZeros:N0} stored; ground truth {truth.NonZeros:N0} labels; {Environment.ProcessorCount} cores");
        output.WriteLine("| metrics, k = 1..100 | Skim (s) | numpy (s) | speed-up |");
        output.WriteLine("| --- | ---: | ---: | ---: |");
        output.WriteLine(Row($"all {Environment.ProcessorCount} cores", all, numpySeconds));
        output.WriteLine(Row("1 thread", single, numpySeconds));
        output.WriteLine($"largest difference from numpy over P, nDCG, PSP, PSnDCG, R at k = 1, 3, 5, 10, 100: {maxDifference:E2}");
    }

    private static string Row(string what, double seconds, double numpySeconds) =>
        string.Create(CultureInfo.InvariantCulture, $"| {what} | {seconds:F3} | {numpySeconds:F3} | {numpySeconds / seconds:F1}x |");

    private static double Best(Action run)
    {
        var best = double.MaxValue;
        for (var i = 0; i < Repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    private static double MaxDifference(JsonElement reference, XcMetricsResult ours)
    {
        var ks = reference.GetProperty("k").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var worst = 0d;
        foreach (var (name, metric) in new[] { ("P", XcMetric.Precision), ("nDCG", XcMetric.Ndcg), ("PSP", XcMetric.PsPrecision), ("PSnDCG", XcMetric.PsNdcg), ("R", XcMetric.Recall) })
        {
            var values = reference.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (var i = 0; i < ks.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(values[i] - ours.Get(metric, ks[i])));
            }
        }
        return worst;
    }

    // About 5 labels per row (0..10), drawn with a heavy head: label = L·u³ makes low ids frequent.
    private static CsrMatrix RandomLabels(Random random, int rows)
    {
        var indPtr = new int[rows + 1];
        var indices = new List<int>(rows * 5);
        var row = new SortedSet<int>();
        for (var r = 0; r < rows; r++)
        {
            row.Clear();
            var n = random.Next(0, 11);
            while (row.Count < n)
            {
                row.Add((int)(Labels * Math.Pow(random.NextDouble(), 3)));
            }
            indices.AddRange(row);
            indPtr[r + 1] = indices.Count;
        }
        var data = new float[indices.Count];
        Array.Fill(data, 1f);
        return new CsrMatrix(rows, Labels, indPtr, [.. indices], data);
    }

    // 100 distinct labels per row in score order: each true label with probability 0.6 (scores tend to
    // be higher), the rest random; scores are rounded to 1e-3 so that ties occur.
    private static CsrMatrix RandomScores(Random random, CsrMatrix truth)
    {
        var indPtr = new int[Rows + 1];
        var indices = new int[Rows * TopK];
        var data = new float[Rows * TopK];
        var seen = new int[Labels];
        for (var r = 0; r < Rows; r++)
        {
            var offset = r * TopK;
            var count = 0;
            foreach (var label in truth.RowIndices(r))
            {
                if (random.NextDouble() < 0.6)
                {
                    seen[label] = r + 1;
                    indices[offset + count] = label;
                    data[offset + count++] = MathF.Round((float)(0.4 + (0.6 * random.NextDouble())), 3);
                }
            }
            while (count < TopK)
            {
                var label = random.Next(Labels);
                if (seen[label] == r + 1)
                {
                    continue;
                }
                seen[label] = r + 1;
                indices[offset + count] = label;
                data[offset + count++] = MathF.Round((float)random.NextDouble(), 3);
            }
            indPtr[r + 1] = offset + TopK;
        }
        return new CsrMatrix(Rows, Labels, indPtr, indices, data);
    }
}
