using System.Diagnostics;
using System.Globalization;
using Skim.Core.Sparse;
using Skim.Models.Search;
using Skim.XcTrain.Classifiers.Miv;
using Skim.XcTrain.Prediction;

namespace Skim.Bench;

/// <summary>
/// NGAME's M-IV classifier at 100K labels × 768 dims on the CPU, on random embeddings (the encoder is
/// skipped: <see cref="MivTrainer.Train"/> takes precomputed embeddings): training examples/s with
/// its shortlist mining and sparse updates, the process's peak resident memory against the size of
/// the classifier state, and the time to score 10K points over the 100K classifier vectors (exact
/// top-100 in tiles).
/// </summary>
public sealed class MivBenchmark : IBenchScenario
{
    private const int TopK = 100;

    /// <inheritdoc />
    public string Name => "miv";

    /// <inheritdoc />
    public string Description => "M-IV classifier: training examples/s and peak memory at 100K labels x 768 dims; scoring 10K points over 100K labels";

    private static int Labels => BenchOptions.Quick ? 5_000 : 100_000;

    private static int Dimension => BenchOptions.Quick ? 128 : 768;

    private static int TrainPoints => BenchOptions.Quick ? 2_000 : 20_000;

    private static int Queries => BenchOptions.Quick ? 1_000 : 10_000;

    /// <inheritdoc />
    public Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(output);
        var dir = Path.Combine(workDirectory, "miv");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        var random = new Random(1);
        var embeddings = new MivEmbeddings(Gaussian(random, (long)TrainPoints * Dimension), Gaussian(random, (long)Labels * Dimension), Dimension);
        var matrix = CsrMatrix.FromRows(Labels, [.. Enumerable.Range(0, TrainPoints).Select(_ => Enumerable.Range(0, 1 + random.Next(3)).Select(_ => random.Next(Labels)).Distinct().Order().ToArray())]);
        var options = new MivOptions
        {
            // Not read: the embeddings are given (Train skips the encoder), but the options record requires one.
            RunDirectory = dir,
            OutputDirectory = dir,
            Epochs = 2,
            BatchSize = 256,
            ShortlistSize = 32,
            ShortlistRefreshInterval = 1,
            FusionHoldoutFraction = 0,
            Device = "cpu",
        };

        NativeMemory.Trim();
        var before = Process.GetCurrentProcess().WorkingSet64;
        using var sampler = new PeakSampler();
        var clock = Stopwatch.StartNew();
        var result = MivTrainer.Train(embeddings, matrix, options, null, ct);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        var peak = sampler.Peak;
        var state = 3.0 * Labels * Dimension * sizeof(float);

        var vectors = EmbeddingRows.FromArray(MivClassifier.NormalizeRows(MivClassifierVectors(result), Dimension), Labels, Dimension, "classifier vectors");
        var queries = EmbeddingRows.FromArray(Gaussian(random, (long)Queries * Dimension), Queries, Dimension, "queries");
        ClassifierPrediction.ClassifierScores(queries, vectors, TopK, "cpu", ct); // warm-up
        clock.Restart();
        var scores = ClassifierPrediction.ClassifierScores(queries, vectors, TopK, "cpu", ct);
        var predictSeconds = clock.Elapsed.TotalSeconds;

        output.WriteLine(Invariant($"{Labels:N0} labels x {Dimension} dims, {TrainPoints:N0} train points with 1-3 random positives, batch {options.BatchSize}, shortlist {options.ShortlistSize} mined every epoch, {options.Epochs} epochs, float32 on the CPU ({Environment.ProcessorCount} cores)."));
        output.WriteLine();
        output.WriteLine("| M-IV | value |");
        output.WriteLine("| --- | ---: |");
        foreach (var record in result.Records)
        {
            output.WriteLine(Invariant($"| epoch {record.Epoch}: train points/s (shortlist mining included) | {record.ExamplesPerSecond:F0} |"));
        }
        output.WriteLine(Invariant($"| whole run, checkpoints included (s) | {trainSeconds:F1} |"));
        output.WriteLine(Invariant($"| largest batch label set (rows one step reads and writes) | {result.LargestLabelSet:N0} |"));
        output.WriteLine(Invariant($"| classifier state: vectors + two Adam moments (MiB) | {state / (1 << 20):F0} |"));
        output.WriteLine(Invariant($"| resident memory before training, after malloc_trim (MiB) | {before / (double)(1 << 20):F0} |"));
        output.WriteLine(Invariant($"| peak resident memory during training (MiB) | {peak / (double)(1 << 20):F0} |"));
        output.WriteLine(Invariant($"| scoring {Queries:N0} points over {Labels:N0} labels, top {TopK} (s) | {predictSeconds:F2} |"));
        output.WriteLine(Invariant($"| scoring: points/s | {Queries / predictSeconds:F0} |"));
        output.WriteLine(Invariant($"Scores kept: {scores.NonZeros:N0}."));
        return Task.CompletedTask;
    }

    private static float[] MivClassifierVectors(MivResult result) => Skim.Core.Formats.Npy.NpyFile.Read(result.ClassifierPath).As<float>();

    private static float[] Gaussian(Random random, long count)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }
        return values;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    // Polls the resident set every 20 ms: the process's own peak (VmHWM) also counts earlier scenarios.
    private sealed class PeakSampler : IDisposable
    {
        private readonly Timer _timer;
        private long _peak;

        public PeakSampler()
        {
            _timer = new Timer(_ => Sample(), null, 0, 20);
        }

        public long Peak
        {
            get
            {
                Sample();
                return Interlocked.Read(ref _peak);
            }
        }

        public void Dispose() => _timer.Dispose();

        private void Sample()
        {
            using var process = Process.GetCurrentProcess();
            var now = process.WorkingSet64;
            long seen;
            while (now > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, seen) != seen)
            {
            }
        }
    }
}
