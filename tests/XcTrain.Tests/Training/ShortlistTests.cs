using Skim.Models.Encoders;
using Skim.XcTrain.Tests.Classifiers;
using Skim.XcTrain.Training;

namespace Skim.XcTrain.Tests.Training;

[Collection(LibTorchCollection.Name)]
public sealed class ShortlistTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_mined_shortlist_ranks_labels_by_the_models_score_and_never_holds_a_positive()
    {
        // Given rows with two positives each over 8 labels, and a shortlist of 4
        var dataset = TrainingFixtures.Synthetic(_dir, trainLabels: i => [i % 8, (i + 1) % 8]);
        var options = new XcTrainOptions { DatasetDirectory = dataset, OutputDirectory = _dir.File("run"), ShortlistNegatives = 1, ShortlistSize = 4, Device = "cpu" };
        var data = TrainingData.Load(options);
        var source = EncoderFolder.Resolve(options.Encoder, options.OutputDirectory, data.PointTexts.Concat(data.LabelTexts), options.Seed);
        var tokens = TokenCache.OpenOrCreate(options.ResolvedTokenCacheDirectory, source, data.PointTexts, data.LabelTexts, options.MaxLength);
        using var encoder = TextEncoder.Load(source, new TextEncoderOptions { Device = "cpu", Pooling = PoolingMode.Cls, Normalize = true });
        using var step = new DualEncoderStep(options, data, tokens, encoder, new LabelSide(encoder, tokens, null));

        // When it is mined
        var shortlist = step.MineShortlist();

        // Then every train row has 4 labels, none of them its positives, in descending score order
        var labels = TokenBatches.Embed(encoder, tokens.Labels, null, 64);
        Assert.Equal(data.TrainRows.Order(), shortlist.Keys.Order());
        foreach (var (row, list) in shortlist)
        {
            Assert.Equal(4, list.Length);
            Assert.DoesNotContain(row % 8, list);
            Assert.DoesNotContain((row + 1) % 8, list);
            var point = TokenBatches.Embed(encoder, tokens.Points, [row], 1);
            var scores = list.Select(l => Enumerable.Range(0, encoder.Dimension).Sum(d => point[d] * labels[(l * encoder.Dimension) + d])).ToArray();
            Assert.Equal(scores.OrderByDescending(v => v), scores);
        }
    }
}
