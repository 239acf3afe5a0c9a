using Skim.Models.Bert;
using Skim.Models.Devices;
using Skim.Models.DistilBert;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Approved;

/// <summary>
/// Full-size presets built on the meta device must have exactly the keys and shapes of the real
/// checkpoints (the committed *.approved.txt lists; README.md in this folder says where they come from),
/// once the checkpoint names go through <see cref="HfKeyMap"/>.
/// </summary>
[Collection(LibTorchCollection.Name)]
public sealed class KeyLayoutTests
{
    [Fact]
    public void Distilbert_base_uncased_keys_and_shapes_equal_the_approved_checkpoint_list()
    {
        // Given the preset built without allocating weights
        using var model = new DistilBertModel(DistilBertConfig.BaseUncased, TorchDevices.Meta);

        // When its layout is compared with the checkpoint's
        var (expected, actual) = Layouts(model, "distilbert-base-uncased.approved.txt", "distilbert");

        // Then they are identical
        Assert.Equal(100, actual.Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Bert_base_uncased_keys_and_shapes_equal_the_approved_checkpoint_list()
    {
        // Given the preset (with pooler) built without allocating weights
        using var model = new BertModel(BertConfig.BaseUncased, addPoolingLayer: true, TorchDevices.Meta);

        // When its layout is compared with the checkpoint's
        var (expected, actual) = Layouts(model, "bert-base-uncased.approved.txt", "bert");

        // Then they are identical
        Assert.Equal(199, actual.Count);
        Assert.Equal(expected, actual);
    }

    // The lists sit beside this file; the compiler records its path, so no project item is needed.
    private static string ThisFolder([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    private static (List<string> Expected, List<string> Actual) Layouts(nn.Module model, string approved, string modelType)
    {
        var lines = File.ReadAllLines(Path.Combine(ThisFolder(), approved)).Where(l => l.Length > 0).ToList();
        var keys = lines.Select(l => l[..l.IndexOf(' ', StringComparison.Ordinal)]).ToList();
        var task = HfKeyMap.IsTaskCheckpoint(keys, modelType);
        var expected = lines
            .Select(l => (Key: HfKeyMap.MapKey(l[..l.IndexOf(' ', StringComparison.Ordinal)], modelType, task), Shape: l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]))
            .Where(e => e.Key is not null)
            .Select(e => $"{e.Key} {e.Shape}")
            .Order(StringComparer.Ordinal)
            .ToList();
        var actual = model.state_dict()
            .Select(e => $"{e.Key} {WeightLoader.ShapeText(e.Value.shape)}")
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.All(model.state_dict().Values, t => Assert.Equal(TorchSharp.DeviceType.META, t.device_type));
        return (expected, actual);
    }
}
