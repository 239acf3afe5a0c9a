using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.Sparse;
using Skim.Core.Stages;
using Skim.XcTrain.Classifiers.Miv;
using Skim.XcTrain.Tests.Classifiers;

namespace Skim.XcTrain.Tests.Miv;

[Collection(LibTorchCollection.Name)]
public sealed class MivTrainerTests : IDisposable
{
    private const int Points = 300;
    private const int Labels = 60;
    private const int Dimension = 24;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_run_killed_in_its_third_epoch_and_resumed_ends_with_the_vectors_of_an_uninterrupted_run()
    {
        // Given clustered embeddings and a train matrix, trained for 4 epochs with a refresh every 3
        var (embeddings, matrix) = Data(seed: 1);
        MivOptions Options(string output, bool resume = false) => new()
        {
            RunDirectory = "unused",
            OutputDirectory = output,
            Epochs = 4,
            BatchSize = 64,
            ShortlistSize = 8,
            ShortlistRefreshInterval = 3,
            Device = "cpu",
            Seed = 5,
            Resume = resume,
        };
        var whole = MivTrainer.Train(embeddings, matrix, Options(_dir.File("whole")));

        // When another run is killed during epoch 3 and continued with --resume
        using var kill = new CancellationTokenSource();
        var killer = new SyncProgress(p =>
        {
            if (p.Phase.StartsWith("classifier epoch 3/", StringComparison.Ordinal) && p.Done == 2)
            {
                kill.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => MivTrainer.Train(embeddings, matrix, Options(_dir.File("killed")), killer, kill.Token));
        Assert.Throws<SkimConfigException>(() => MivTrainer.Train(embeddings, matrix, Options(_dir.File("killed"))));
        var resumed = MivTrainer.Train(embeddings, matrix, Options(_dir.File("killed"), resume: true));

        // Then it continued after epoch 2 and ends with the same vectors and log
        Assert.Equal(2, resumed.ResumedFromEpoch);
        var expected = NpyFile.Read(whole.ClassifierPath).As<float>();
        var actual = NpyFile.Read(resumed.ClassifierPath).As<float>();
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-5, $"largest difference {worst}");
        Assert.Equal(whole.Records.Select(r => r.Steps), resumed.Records.Select(r => r.Steps));
        Assert.Equal(whole.Records.Select(r => Math.Round(r.Loss, 5)), resumed.Records.Select(r => Math.Round(r.Loss, 5)));
    }

    [Fact]
    public void Training_lowers_the_loss_and_raises_the_shortlist_recall_of_noisy_label_embeddings()
    {
        // Given label embeddings that point only roughly at their points
        var (embeddings, matrix) = Data(seed: 2, labelNoise: 1.5);

        // When the classifier trains
        var result = MivTrainer.Train(embeddings, matrix, new MivOptions
        {
            RunDirectory = "unused",
            OutputDirectory = _dir.File("out"),
            Epochs = 8,
            BatchSize = 32,
            LearningRate = 0.01,
            ShortlistSize = 5,
            ShortlistRefreshInterval = 2,
            Device = "cpu",
        });

        // Then the loss falls and the refreshed shortlists hold more of the positives
        Assert.True(result.Records[^1].Loss < result.Records[0].Loss * 0.8, $"loss {result.Records[0].Loss:F4} -> {result.Records[^1].Loss:F4}");
        Assert.True(result.Records[^1].ShortlistRecall > result.Records[0].ShortlistRecall + 0.05, $"recall {result.Records[0].ShortlistRecall:F3} -> {result.Records[^1].ShortlistRecall:F3}");
        Assert.True(File.Exists(Path.Combine(result.OutputDirectory, MivTrainer.LogFileName)));
        Assert.True(result.LargestLabelSet <= (32 * 5) + (32 * 2), $"label set {result.LargestLabelSet}");
    }

    [Fact]
    public void A_train_matrix_of_another_shape_than_the_embeddings_is_refused_naming_both_shapes()
    {
        var (embeddings, _) = Data(seed: 3);
        var wrong = CsrMatrix.FromRows(Labels, [.. Enumerable.Range(0, 10).Select(i => new[] { i })]);

        var error = Assert.Throws<SkimDataException>(() => MivTrainer.Train(embeddings, wrong, new MivOptions { RunDirectory = "unused", OutputDirectory = _dir.File("x"), Device = "cpu" }));

        Assert.Contains("10 x 60", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{Points} x {Labels}", error.Message, StringComparison.Ordinal);
    }

    // Points around label centres; each point links to its centre's label and sometimes a neighbour's.
    internal static (MivEmbeddings Embeddings, CsrMatrix Matrix) Data(int seed, double labelNoise = 0.5)
    {
        var random = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var centres = Enumerable.Range(0, Labels * Dimension).Select(_ => Gauss()).ToArray();
        var points = new float[Points * Dimension];
        var labels = new float[Labels * Dimension];
        var rows = new int[Points][];
        for (var p = 0; p < Points; p++)
        {
            var label = random.Next(Labels);
            for (var d = 0; d < Dimension; d++)
            {
                points[(p * Dimension) + d] = (float)(centres[(label * Dimension) + d] + (0.5 * Gauss()));
            }
            rows[p] = random.NextDouble() < 0.3 ? [.. new[] { label, (label + 1) % Labels }.Order()] : [label];
        }
        for (var l = 0; l < labels.Length; l++)
        {
            labels[l] = (float)(centres[l] + (labelNoise * Gauss()));
        }
        return (new MivEmbeddings(points, labels, Dimension), CsrMatrix.FromRows(Labels, rows));
    }

    // Reports on the caller's thread, so a test can act at an exact point of the run.
    private sealed class SyncProgress(Action<StageProgress> report) : IProgress<StageProgress>
    {
        public void Report(StageProgress value) => report(value);
    }
}
