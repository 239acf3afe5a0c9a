using Skim.Models.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Optimization;

[Collection(LibTorchCollection.Name)]
public sealed class AdamWTests
{
    [Fact]
    public void Skims_adamw_steps_equal_torchsharps_for_two_groups_with_and_without_decay_and_its_state_loads_there()
    {
        // Given two identical parameter sets, one per optimizer, in a decay and a no-decay group
        random.manual_seed(5);
        using var w0 = randn(6, 4);
        using var b0 = randn(4);
        TorchSharp.Modules.Parameter[] Copy() => [new(w0.clone()), new(b0.clone())];
        var (ours, theirs) = (Copy(), Copy());
        TorchSharp.Modules.AdamW.ParamGroup[] Groups(TorchSharp.Modules.Parameter[] p) =>
        [
            new([p[0]], new TorchSharp.Modules.AdamW.Options { weight_decay = 0.01 }),
            new([p[1]], new TorchSharp.Modules.AdamW.Options { weight_decay = 0, LearningRate = 3e-2 }),
        ];
        using var held = new AdamW(Groups(ours), lr: 1e-2, beta1: 0.8, beta2: 0.99);
        using var reference = optim.AdamW(Groups(theirs), lr: 1e-2, beta1: 0.8, beta2: 0.99);

        // When both take five steps on the same gradients, the learning rates changing on the way
        for (var step = 0; step < 5; step++)
        {
            using var gw = randn(6, 4);
            using var gb = randn(4);
            foreach (var (p, g) in new[] { (ours[0], gw), (theirs[0], gw), (ours[1], gb), (theirs[1], gb) })
            {
                p.grad = g.clone();
            }
            foreach (var group in held.ParamGroups.Concat(reference.ParamGroups))
            {
                group.LearningRate *= 0.9;
            }
            held.step();
            reference.step();
        }

        // Then the parameters agree bit for bit, and a state dict saved by ours loads into TorchSharp's
        Assert.True(ours[0].equal(theirs[0]).all().item<bool>() && ours[1].equal(theirs[1]).all().item<bool>());
        Assert.False(ours[0].equal(w0).all().item<bool>());
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            held.save_state_dict(writer);
        }
        stream.Position = 0;
        using var restored = optim.AdamW(Groups(Copy()), lr: 1e-2, beta1: 0.8, beta2: 0.99);
        using (var reader = new BinaryReader(stream))
        {
            restored.load_state_dict(reader);
        }
        Assert.Equal(5, ((TorchSharp.Modules.AdamW.State)restored.state_dict().State[0]).step);

        // And one saved by TorchSharp's (a checkpoint of an earlier version) loads into ours
        using var back = new MemoryStream();
        using (var writer = new BinaryWriter(back, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            reference.save_state_dict(writer);
        }
        back.Position = 0;
        using var resumed = new AdamW(Groups(Copy()), lr: 1e-2, beta1: 0.8, beta2: 0.99);
        using (var reader = new BinaryReader(back))
        {
            resumed.load_state_dict(reader);
        }
        Assert.Equal(5, ((TorchSharp.Modules.AdamW.State)resumed.state_dict().State[1]).step);
    }
}
