using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.Manifests;
using Skim.XcTrain.Tests.Classifiers;
using Skim.XcTrain.Training;

namespace Skim.XcTrain.Tests.Training;

[Collection(LibTorchCollection.Name)]
public sealed class XcTrainerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string, string> Combinations => new()
    {
        { "ngame", "decoupled-softmax", "in-batch" },
        { "dexml", "softmax", "in-batch" },
        { "dexml", "decoupled-softmax", "in-batch" },
        { "dexml", "soft-topk", "in-batch" },
        { "dexml", "decoupled-softmax", "mixed" },
        { "dexml", "decoupled-softmax", "batch-mix" },
        { "dexml", "decoupled-softmax", "cross-batch" },
        { "dexml", "decoupled-softmax", "cross-batch-mixed" },
        { "dexml", "decoupled-softmax", "mixed-bayesian" },
        { "dexml", "decoupled-softmax", "in-batch+shortlist" },
    };

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Every_model_loss_and_sampler_beats_the_untrained_encoder_on_the_demo_dataset(string model, string loss, string sampler)
    {
        // Given the demo dataset and a tiny random encoder; cross-batch memories hold stale embeddings,
        // which only help while the encoder drifts slowly (XBM's premise), so they get a lower rate
        var crossBatch = sampler.StartsWith("cross-batch", StringComparison.Ordinal);
        var options = new XcTrainOptions
        {
            DatasetDirectory = TrainingFixtures.Demo,
            OutputDirectory = _dir.File("run"),
            Model = XcTrainOptions.ParseModel(model),
            Loss = XcTrainOptions.ParseLoss(loss),
            Sampler = sampler.Replace("+shortlist", "", StringComparison.Ordinal),
            ShortlistNegatives = sampler.EndsWith("+shortlist", StringComparison.Ordinal) ? 2 : 0,
            Pooling = "mean",
            Epochs = 4,
            BatchSize = 32,
            LearningRate = crossBatch ? 5e-4 : 2e-3,
            SamplerQueueSize = 256,
            ClusterEpochs = [2, 3],
            Device = "cpu",
            Seed = 1,
        };

        // When it trains for about two hundred steps
        var result = await XcTrainer.RunAsync(options);

        // Then validation P@1 and R@10 clearly beat the untrained encoder's (epoch 0)
        var before = result.Records[0].Validation;
        var after = result.Records[^1].Validation;
        Assert.Equal(0, result.Records[0].Epoch);
        Assert.True(result.Records[^1].Steps >= 150, $"only {result.Records[^1].Steps} steps");
        Assert.True(after["P@1"] >= before["P@1"] + 0.02, $"P@1 {before["P@1"]:F4} -> {after["P@1"]:F4}");
        Assert.True(after["R@10"] >= before["R@10"] + 0.04, $"R@10 {before["R@10"]:F4} -> {after["R@10"]:F4}");
    }

    [Theory]
    [InlineData("ngame", "in-batch", false, "float32")]
    [InlineData("dexml", "cross-batch", false, "float32")]
    [InlineData("dexml", "in-batch", true, "float32")]
    [InlineData("ngame", "in-batch", false, "bfloat16")]
    public async Task A_run_stopped_after_an_epoch_and_resumed_ends_with_the_weights_of_an_uninterrupted_run(string model, string sampler, bool labelTable, string dtype)
    {
        // Given a small dataset and options whose sampling has state (NGAME's bank and clusters; a
        // cross-batch memory and a mined hard-negative shortlist)
        var dataset = TrainingFixtures.Synthetic(_dir);
        XcTrainOptions Options(string output) => new()
        {
            DatasetDirectory = dataset,
            OutputDirectory = output,
            Model = XcTrainOptions.ParseModel(model),
            Sampler = sampler,
            ShortlistNegatives = model == "dexml" ? 2 : 0,
            ShortlistSize = 4,
            Epochs = 3,
            BatchSize = 8,
            LearningRate = 1e-3,
            ClusterEpochs = [1, 2],
            Device = "cpu",
            Seed = 7,
            LabelFeatures = labelTable ? LabelFeatureKind.Table : LabelFeatureKind.Auto,
            DType = dtype,
        };

        // When one run goes straight through, and another is cancelled after epoch 2's checkpoint and resumed
        var straight = await XcTrainer.RunAsync(Options(_dir.File("straight")));
        using var cancel = new CancellationTokenSource();
        var stopAfterSecond = new SynchronousProgress<XcTrainProgress>(p =>
        {
            if (p.Epoch == 3 && p.Phase == "training")
            {
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => XcTrainer.RunAsync(Options(_dir.File("resumed")), stopAfterSecond, cancel.Token));
        Assert.Equal(2, TrainingCheckpoint.ReadState(TrainingCheckpoint.Find(_dir.File("resumed"))!).CompletedEpochs);
        var resumed = await XcTrainer.RunAsync(Options(_dir.File("resumed")) with { Resume = true });

        // Then the resumed run started after epoch 2, logged every epoch once, and ends with the same weights
        Assert.Equal(2, resumed.ResumedFromEpoch);
        Assert.Equal([0, 1, 2, 3], resumed.Records.Select(r => r.Epoch));
        Assert.Equal(straight.Records[^1].Loss, resumed.Records[^1].Loss, 5);
        Assert.True(MaxAbsDifference(straight.EncoderDirectory, resumed.EncoderDirectory) <= 1e-5);
        var tables = new[] { straight, resumed }.Select(r => Path.Combine(r.EncoderDirectory, LabelTable.FileName)).ToArray();
        Assert.Equal(labelTable, File.Exists(tables[0]));
        if (labelTable)
        {
            var (x, y) = (Skim.Core.Formats.Npy.NpyFile.Read(tables[0]).As<float>(), Skim.Core.Formats.Npy.NpyFile.Read(tables[1]).As<float>());
            Assert.True(x.Zip(y).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5);
        }
    }

    [Fact]
    public async Task Bfloat16_mixed_precision_beats_the_untrained_encoder_and_saves_float32_master_weights()
    {
        // Given the demo dataset and a tiny random encoder computing in bf16 (float32 masters)
        var options = new XcTrainOptions
        {
            DatasetDirectory = TrainingFixtures.Demo,
            OutputDirectory = _dir.File("run"),
            Model = XcModelKind.Ngame,
            Pooling = "mean",
            Epochs = 3,
            BatchSize = 32,
            LearningRate = 2e-3,
            ClusterEpochs = [2],
            Device = "cpu",
            Seed = 1,
            DType = "bfloat16",
        };

        // When it trains
        var result = await XcTrainer.RunAsync(options);

        // Then it learns as float32 training does, and the saved encoder holds float32 weights
        var before = result.Records[0].Validation;
        var after = result.Records[^1].Validation;
        Assert.True(after["P@1"] >= before["P@1"] + 0.02, $"P@1 {before["P@1"]:F4} -> {after["P@1"]:F4}");
        Assert.True(after["R@10"] >= before["R@10"] + 0.04, $"R@10 {before["R@10"]:F4} -> {after["R@10"]:F4}");
        using var weights = SafeTensorsFile.Open(Path.Combine(result.EncoderDirectory, SafeTensorsIndex.SingleFileName));
        Assert.All(weights.Names.Where(n => weights[n].DType != TensorDType.Int64), n => Assert.Equal(TensorDType.Float32, weights[n].DType));
    }

    [Fact]
    public void Float16_training_is_refused_by_name()
    {
        var error = Assert.Throws<SkimConfigException>(() => new XcTrainOptions { DatasetDirectory = "d", OutputDirectory = "o", DType = "float16" }.Validate());
        Assert.StartsWith("dtype:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_finished_run_writes_the_encoder_log_checkpoint_and_a_complete_manifest_and_refuses_to_be_overwritten()
    {
        // Given a small dataset
        var dataset = TrainingFixtures.Synthetic(_dir);
        var options = new XcTrainOptions { DatasetDirectory = dataset, OutputDirectory = _dir.File("run"), Epochs = 1, BatchSize = 8, Device = "cpu" };

        // When it trains once, then again into the same folder
        var result = await XcTrainer.RunAsync(options);
        var again = await Assert.ThrowsAsync<SkimConfigException>(() => XcTrainer.RunAsync(options));

        // Then the run folder holds what other verbs read, and the second run names the folder
        Assert.True(File.Exists(Path.Combine(result.EncoderDirectory, "config.json")));
        Assert.True(File.Exists(Path.Combine(result.EncoderDirectory, SafeTensorsIndex.SingleFileName)));
        Assert.True(File.Exists(Path.Combine(result.EncoderDirectory, EncoderFolder.SettingsFileName)));
        Assert.Equal(3, File.ReadAllLines(_dir.File("run/train_log.csv")).Length);
        foreach (var chart in new[] { TrainLog.LossChartFileName, TrainLog.ValidationChartFileName })
        {
            var bytes = File.ReadAllBytes(_dir.File(Path.Combine("run", chart)));
            Assert.True(bytes.Length > 1000 && bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }), $"{chart} is not a PNG");
        }
        var manifest = RunManifest.Read(_dir.File("run"))!;
        Assert.True(manifest.Complete);
        Assert.Equal("train", manifest.Stage);
        Assert.Contains(manifest.Outputs, f => f.Path == Path.Combine("encoder", "model.safetensors"));
        Assert.Contains(_dir.File("run"), again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_cache_written_with_another_tokenizer_is_refused()
    {
        // Given a token cache made by one random encoder's tokenizer
        var dataset = TrainingFixtures.Synthetic(_dir);
        var cache = _dir.File("tokens");
        await XcTrainer.RunAsync(new XcTrainOptions { DatasetDirectory = dataset, OutputDirectory = _dir.File("a"), TokenCacheDirectory = cache, Epochs = 1, Device = "cpu", Encoder = "init:distilbert-tiny" });

        // When a run with an encoder of another vocabulary (300 word pieces instead of 1000) is pointed at it
        var corpus = _dir.File("corpus.txt");
        File.WriteAllLines(corpus, File.ReadAllLines(Path.Combine(dataset, "raw", "trn_X.txt")));
        var other = _dir.File("other-encoder");
        Skim.Models.ModelFactory.ModelInitializer.Create(new Skim.Models.ModelFactory.ModelInitOptions
        {
            Architecture = "distilbert", Preset = "tiny", Tokenizer = "train:" + corpus, VocabSize = 300, OutputDirectory = other,
        });
        var error = await Assert.ThrowsAsync<SkimDataException>(() => XcTrainer.RunAsync(new XcTrainOptions
        {
            DatasetDirectory = dataset, OutputDirectory = _dir.File("b"), TokenCacheDirectory = cache, Epochs = 1, Device = "cpu", Encoder = other,
        }));

        // Then the error names the cache and the tokenizer mismatch
        Assert.Contains(Path.Combine(cache, TokenCache.ManifestName), error.Message, StringComparison.Ordinal);
        Assert.Contains("another tokenizer", error.Message, StringComparison.Ordinal);
    }

    private static double MaxAbsDifference(string a, string b)
    {
        using var left = SafeTensorsFile.Open(Path.Combine(a, SafeTensorsIndex.SingleFileName));
        using var right = SafeTensorsFile.Open(Path.Combine(b, SafeTensorsIndex.SingleFileName));
        var worst = 0.0;
        Assert.Equal(left.Names, right.Names);
        foreach (var name in left.Names.Where(n => left[n].DType == TensorDType.Float32))
        {
            var x = left[name].ToFloat32Array();
            var y = right[name].ToFloat32Array();
            Assert.Equal(x.Length, y.Length);
            for (var i = 0; i < x.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(x[i] - y[i]));
            }
        }
        return worst;
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
