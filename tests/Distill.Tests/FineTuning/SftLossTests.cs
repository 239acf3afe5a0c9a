using System.Globalization;
using System.Text.Json;
using Skim.Core.Formats.Npy;
using Skim.Distill.FineTuning;
using static TorchSharp.torch;

namespace Skim.Distill.Tests.FineTuning;

[Collection(FineTuneCollection.Name)]
public sealed class SftLossTests
{
    // Two pairs: 3 prompt ids then 2 response ids (+EOS 2), and 2 prompt ids then 4 response ids (+EOS).
    private static readonly SftExample[] s_examples =
    [
        new([1, 10, 11, 20, 21, 2], 3),
        new([1, 12, 30, 31, 32, 33, 2], 2),
    ];

    [Fact]
    public void Targets_are_the_next_response_ids_and_prompt_and_padding_positions_are_ignored()
    {
        // When the two pairs are collated with pad id 0
        using var batch = SftBatches.Collate(s_examples, padId: 0, CPU);

        // Then inputs are right-padded ids without the last one, and targets cover response ids and EOS only
        Assert.Equal(new long[] { 2, 6 }, batch.Inputs.shape);
        Assert.Equal(new long[] { 1, 10, 11, 20, 21, 0, 1, 12, 30, 31, 32, 33 }, batch.Inputs.data<long>().ToArray());
        Assert.Equal(new long[] { -100, -100, 20, 21, 2, -100, -100, 30, 31, 32, 33, 2 }, batch.Targets.data<long>().ToArray());
        Assert.Equal(5 + 6, batch.Tokens);
        Assert.Equal(3 + 5, batch.ResponseTokens);
    }

    [Fact]
    public void Changing_the_prompt_tokens_does_not_change_the_loss()
    {
        // Given fixed logits and the collated targets
        using var generator = new TorchSharp.torch.Generator(3);
        using var logits = randn([2, 6, 40], generator: generator);
        using var batch = SftBatches.Collate(s_examples, padId: 0, CPU);

        // When the prompt ids are replaced by others (the targets the loss would see on prompt positions change)
        SftExample[] otherPrompts = [new([1, 38, 39, 20, 21, 2], 3), new([1, 37, 30, 31, 32, 33, 2], 2)];
        using var other = SftBatches.Collate(otherPrompts, padId: 0, CPU);

        // Then the loss is identical, while changing one response id changes it
        Assert.Equal(SftLoss.Mean(logits, batch.Targets), SftLoss.Mean(logits, other.Targets));
        SftExample[] otherResponse = [new([1, 10, 11, 20, 22, 2], 3), s_examples[1]];
        using var changed = SftBatches.Collate(otherResponse, padId: 0, CPU);
        Assert.NotEqual(SftLoss.Mean(logits, batch.Targets), SftLoss.Mean(logits, changed.Targets));
    }

    [SkippableFact]
    public void The_masked_loss_equals_pytorch_cross_entropy_with_ignore_index()
    {
        PythonReference.Require("numpy", "torch");
        // Given logits and masked targets saved as .npy
        using var dir = new TempDirectory();
        using var generator = new TorchSharp.torch.Generator(5);
        using var logits = randn([2, 6, 40], generator: generator) * 3;
        using var batch = SftBatches.Collate(s_examples, padId: 0, CPU);
        NpyFile.Write(dir.File("logits.npy"), NpyArray.Create(logits.data<float>().ToArray(), 2, 6, 40));
        NpyFile.Write(dir.File("targets.npy"), NpyArray.Create(batch.Targets.data<long>().ToArray(), 2, 6));

        // When Skim and PyTorch 1.13 compute the loss
        using var sum = SftLoss.Sum(logits, batch.Targets);
        var mean = SftLoss.Mean(logits, batch.Targets);
        using var reference = JsonDocument.Parse(PythonReference.Run(PythonReference.Script("sft_loss.py"), dir.File("logits.npy"), dir.File("targets.npy")));
        var root = reference.RootElement;

        // Then the sum and the per-token mean agree (8 counted targets)
        Assert.Equal(8, root.GetProperty("count").GetInt32());
        Assert.Equal(root.GetProperty("sum").GetDouble(), sum.item<float>(), 4);
        Assert.Equal(root.GetProperty("manual_sum").GetDouble(), sum.item<float>(), 4);
        Assert.Equal(root.GetProperty("mean").GetDouble(), mean, 5);
    }

    [Fact]
    public void The_schedule_warms_up_linearly_then_decays_by_cosine_to_the_minimum()
    {
        var schedule = new CosineSchedule(3e-4, 3e-5, WarmupSteps: 100, TotalSteps: 1100);

        Assert.Equal(3e-6, schedule.At(0), 12);
        Assert.Equal(1.5e-4, schedule.At(49), 12);
        Assert.Equal(3e-4, schedule.At(99), 12);
        Assert.Equal(3e-4, schedule.At(100), 12);
        Assert.Equal((3e-4 + 3e-5) / 2, schedule.At(600), 12);
        Assert.Equal(3e-5, schedule.At(1100), 12);
        Assert.True(schedule.At(300) > schedule.At(301));
    }

    [Fact]
    public void Each_epoch_has_its_own_seeded_order_and_buckets_keep_the_global_batch_together()
    {
        // Given 20 examples of lengths 2..21, global batch 8 from micro batches of 2
        var examples = Enumerable.Range(0, 20).Select(i => new SftExample([.. Enumerable.Range(1, i + 2)], 1)).ToArray();
        var plain = new SftBatches(examples, 2, 8, bucketing: false, seed: 4);
        var bucketed = new SftBatches(examples, 2, 8, bucketing: true, seed: 4);

        // Then the order is a permutation, repeats with the seed and differs between epochs
        Assert.Equal(Enumerable.Range(0, 20), plain.EpochOrder(0).Order());
        Assert.Equal(plain.EpochOrder(1), new SftBatches(examples, 2, 8, false, 4).EpochOrder(1));
        Assert.NotEqual(plain.EpochOrder(0), plain.EpochOrder(1));
        Assert.Equal(3, plain.StepsPerEpoch);

        // And bucketing regroups each global batch's examples by length without moving any to another step
        for (var step = 0; step < 3; step++)
        {
            var a = plain.Step(1, step).SelectMany(m => m).Order().ToArray();
            var b = bucketed.Step(1, step);
            Assert.Equal(a, b.SelectMany(m => m).Order());
            var lengths = b.SelectMany(m => m).Select(i => examples[i].Length).ToArray();
            Assert.Equal(lengths.OrderDescending(), lengths);
        }
        Assert.Equal(4, plain.Step(0, 2).SelectMany(m => m).Count());
        Assert.Equal(string.Join(",", plain.EpochOrder(0).Take(4)), string.Join(",", plain.Step(0, 0).SelectMany(m => m).Take(4).Select(i => i.ToString(CultureInfo.InvariantCulture))));
    }
}
