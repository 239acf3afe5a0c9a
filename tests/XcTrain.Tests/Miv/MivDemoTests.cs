using Skim.Core;
using Skim.Core.Formats.Npz;
using Skim.Core.Metrics;
using Skim.XcTrain.Classifiers.Miv;
using Skim.XcTrain.Fusion;
using Skim.XcTrain.Prediction;
using Skim.XcTrain.Tests.Classifiers;
using Skim.XcTrain.Tests.Training;
using Skim.XcTrain.Training;
using Xunit.Abstractions;

namespace Skim.XcTrain.Tests.Miv;

/// <summary>A tiny NGAME encoder trained briefly on the demo dataset, with an M-IV classifier over it, shared by the demo tests.</summary>
public sealed class MivDemoFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public MivDemoFixture()
    {
        Run = _dir.File("run");
        var encoder = XcTrainer.RunAsync(new XcTrainOptions
        {
            DatasetDirectory = TrainingFixtures.Demo,
            OutputDirectory = Run,
            Model = XcModelKind.Ngame,
            Pooling = "mean",
            Epochs = 2,
            BatchSize = 64,
            LearningRate = 2e-3,
            ClusterEpochs = [2],
            ValidationFraction = 0.05,
            Device = "cpu",
            Seed = 1,
        }).GetAwaiter().GetResult();
        Classifier = MivTrainer.RunAsync(new MivOptions { RunDirectory = Run, Epochs = 25, BatchSize = 128, Device = "cpu", Seed = 1 }).GetAwaiter().GetResult();
        EncoderSeconds = encoder.Elapsed.TotalSeconds;
    }

    public string Run { get; }

    public MivResult Classifier { get; }

    public double EncoderSeconds { get; }

    public string File(string name) => _dir.File(name);

    public void Dispose() => _dir.Dispose();
}

[Collection(LibTorchCollection.Name)]
public sealed class MivDemoTests(MivDemoFixture demo, ITestOutputHelper output) : IClassFixture<MivDemoFixture>
{
    [Fact]
    public void The_classifier_alone_and_fused_by_weighted_sum_beat_label_retrieval_of_the_same_encoder_on_demo_p_at_5()
    {
        // Given the demo run with its classifier
        output.WriteLine($"encoder {demo.EncoderSeconds:F1} s; classifier {demo.Classifier.Elapsed.TotalSeconds:F1} s, loss {demo.Classifier.Records[0].Loss:F4} -> {demo.Classifier.Records[^1].Loss:F4}, shortlist recall {demo.Classifier.Records[^1].ShortlistRecall:F3}");

        // When the test split is scored by label retrieval, the classifier, and both fusions
        var label = Evaluate(PredictionMethod.Label);
        var classifier = Evaluate(PredictionMethod.Classifier);
        var tree = Evaluate(PredictionMethod.ClassifierFusion);
        var sum = Evaluate(PredictionMethod.ClassifierFusion, FusionKind.Sum, 0.5);
        output.WriteLine($"P@5: label {label.Get("P", 5):F4}, classifier {classifier.Get("P", 5):F4}, tree fusion {tree.Get("P", 5):F4}, sum fusion {sum.Get("P", 5):F4}");
        output.WriteLine($"P@1: label {label.Get("P", 1):F4}, classifier {classifier.Get("P", 1):F4}, tree fusion {tree.Get("P", 1):F4}, sum fusion {sum.Get("P", 1):F4}");
        output.WriteLine($"PSP@5: label {label.Get("PSP", 5):F4}, classifier {classifier.Get("PSP", 5):F4}, tree fusion {tree.Get("PSP", 5):F4}, sum fusion {sum.Get("PSP", 5):F4}");

        // Then the classifier and the sum fusion beat label retrieval on P@5, by margins measured at
        // about 3.5 and 2.4 points. The tree fusion is only reported: on this encoder, whose cosines
        // all lie in a narrow band near 1, its leaf probabilities decide the order and it measured
        // below label retrieval (see the test output).
        Assert.True(classifier.Get("P", 5) > label.Get("P", 5) + 0.01, $"classifier P@5 {classifier.Get("P", 5):F4} vs label retrieval {label.Get("P", 5):F4}");
        Assert.True(sum.Get("P", 5) > label.Get("P", 5) + 0.005, $"sum fusion P@5 {sum.Get("P", 5):F4} vs label retrieval {label.Get("P", 5):F4}");
        Assert.InRange(tree.Get("P", 5), 0.01, 1);
    }

    [Fact]
    public void Tree_fusion_is_deterministic_for_a_seed_and_sum_fusion_with_weight_zero_is_the_classifier_exactly()
    {
        // When the same fusion runs twice with one seed, and the sum fusion runs with weight 0
        var first = Predict(PredictionMethod.ClassifierFusion, FusionKind.Tree, 0.5, "a.npz");
        var second = Predict(PredictionMethod.ClassifierFusion, FusionKind.Tree, 0.5, "b.npz");
        var classifier = Predict(PredictionMethod.Classifier, FusionKind.Tree, 0.5, "c.npz");
        var sum = Predict(PredictionMethod.ClassifierFusion, FusionKind.Sum, 0, "d.npz");

        // Then the two fusions are byte-identical, and weight 0 reproduces the classifier's file
        Assert.Equal(System.IO.File.ReadAllBytes(first), System.IO.File.ReadAllBytes(second));
        Assert.Equal(System.IO.File.ReadAllBytes(classifier), System.IO.File.ReadAllBytes(sum));
        Assert.NotEqual(System.IO.File.ReadAllBytes(classifier), System.IO.File.ReadAllBytes(first));
    }

    [Fact]
    public void A_run_folder_without_a_classifier_is_one_clear_error_naming_the_folder()
    {
        var error = Assert.Throws<SkimConfigException>(() => XcPredictor.Run(new XcPredictOptions
        {
            RunDirectory = demo.Run,
            Method = PredictionMethod.Classifier,
            ClassifierDirectory = demo.File("none"),
            OutputPath = demo.File("x.npz"),
            Device = "cpu",
        }));

        Assert.Contains("none", error.Message, StringComparison.Ordinal);
        Assert.Contains("skim classifier train", error.Message, StringComparison.Ordinal);
    }

    private string Predict(PredictionMethod method, FusionKind fusion, double weight, string name)
    {
        var path = demo.File(name);
        XcPredictor.Run(new XcPredictOptions
        {
            RunDirectory = demo.Run,
            Method = method,
            Fusion = fusion,
            FusionWeight = weight,
            OutputPath = path,
            Device = "cpu",
            Seed = 3,
        });
        return path;
    }

    private XcEvaluationReport Evaluate(PredictionMethod method, FusionKind fusion = FusionKind.Tree, double weight = 0.5)
    {
        var path = Predict(method, fusion, weight, $"{XcPredictOptions.MethodName(method)}-{fusion}-{weight}.npz");
        Assert.Equal(636, SparseNpz.Load(path).Rows);
        return XcEvaluation.Run(new XcEvaluationOptions { DatasetDirectory = TrainingFixtures.Demo, ScoresPath = path, OutputPath = path + ".json" });
    }
}
