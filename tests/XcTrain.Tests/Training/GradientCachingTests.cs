using Skim.Models.Encoders;
using Skim.XcTrain.Tests.Classifiers;
using Skim.XcTrain.Training;
using static TorchSharp.torch;

namespace Skim.XcTrain.Tests.Training;

[Collection(LibTorchCollection.Name)]
public sealed class GradientCachingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("decoupled-softmax", "in-batch")]
    [InlineData("soft-topk", "batch-mix")]
    public void Cached_label_gradients_replayed_with_the_same_dropout_equal_the_plain_computation(string loss, string sampler)
    {
        // Given a random encoder with dropout on, and a batch whose 8 label columns are encoded in chunks of 3
        var dataset = TrainingFixtures.Synthetic(_dir);
        var options = new XcTrainOptions
        {
            DatasetDirectory = dataset,
            OutputDirectory = _dir.File("run"),
            Loss = XcTrainOptions.ParseLoss(loss),
            Sampler = sampler,
            LabelChunkSize = 3,
            Device = "cpu",
            Seed = 5,
        };
        var data = TrainingData.Load(options);
        var source = EncoderFolder.Resolve(options.Encoder, options.OutputDirectory, data.PointTexts.Concat(data.LabelTexts), options.Seed);
        var tokens = TokenCache.OpenOrCreate(options.ResolvedTokenCacheDirectory, source, data.PointTexts, data.LabelTexts, options.MaxLength);
        using var encoder = TextEncoder.Load(source, new TextEncoderOptions { Device = "cpu", Pooling = PoolingMode.Cls, Normalize = true });
        encoder.SetTraining(true);
        var rows = data.TrainRows.Take(16).ToArray();

        // When the same step runs with every chunk's graph kept (plain) and with gradient caching
        Dictionary<string, float[]> Gradients(bool cache)
        {
            foreach (var (_, parameter) in encoder.NamedParameters())
            {
                parameter.grad?.zero_();
            }
            using var step = new DualEncoderStep(options, data, tokens, encoder, new LabelSide(encoder, tokens, null), cacheGradients: cache);
            random.manual_seed(11);
            step.Run(epoch: 0, batch: 0, rows, lossScale: 1);
            return encoder.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.grad!.data<float>().ToArray());
        }
        var plain = Gradients(cache: false);
        var cached = Gradients(cache: true);

        // Then every parameter's gradient agrees (float32 sums in another order), and dropout was really on
        var worst = plain.Max(p => p.Value.Zip(cached[p.Key], (a, b) => Math.Abs(a - b) / (1e-3 + Math.Abs(a))).Max());
        Assert.True(worst < 1e-3, $"largest relative gradient difference {worst}");
        Assert.Contains(plain.Values, g => g.Any(v => v != 0));
        random.manual_seed(11);
        var probe = DropoutProbe(encoder, tokens, rows);
        random.manual_seed(12);
        Assert.NotEqual(probe, DropoutProbe(encoder, tokens, rows));
    }

    private static float[] DropoutProbe(TextEncoder encoder, TokenCache tokens, int[] rows)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (ids, mask) = TokenBatches.Gather(tokens.Points, rows, encoder.Device);
        return encoder.Forward(ids, mask).data<float>().ToArray();
    }
}
