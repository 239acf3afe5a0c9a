using System.Text.Json;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.XcTrain.Sampling;
using Skim.XcTrain.Tests.Classifiers;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.XcTrain.Tests.Sampling;

[Collection(LibTorchCollection.Name)]
public sealed class NegativeSamplerTests
{
    private const int Labels = 50;
    private const int Dim = 3;

    // Small sizes so a few steps fill and wrap the memory; frequencies for the kinds that need them.
    private static readonly NegativeSamplerOptions s_options = new()
    {
        CorpusNegatives = 4,
        QueueSize = 12,
        MixNegatives = 3,
        MixAlpha = 2,
        MixBeta = 3,
        BayesianCandidates = 5,
        LabelFrequencies = [.. Enumerable.Range(0, Labels).Select(y => (float)(1 + (y % 7)))],
    };

    [Fact]
    public void The_factory_knows_six_kebab_case_names_and_lists_them_for_an_unknown_one()
    {
        // Given / When
        var made = NegativeSamplers.Names.Select(name => NegativeSamplers.Create(name, s_options)).ToArray();
        var error = Assert.Throws<SkimConfigException>(() => NegativeSamplers.Create("hard", s_options));

        // Then
        Assert.Equal(["in-batch", "mixed", "batch-mix", "cross-batch", "cross-batch-mixed", "mixed-bayesian"], made.Select(s => s.Name));
        Assert.Contains("in-batch, mixed, batch-mix, cross-batch, cross-batch-mixed, mixed-bayesian", error.Message, StringComparison.Ordinal);
        Assert.Equal("cross-batch", NegativeSamplers.Create("Cross-Batch", s_options).Name);
        foreach (var sampler in made)
        {
            sampler.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Every_column_is_a_valid_label_outside_the_step_positives_and_appears_once(string name)
    {
        // Given
        using var sampler = NegativeSamplers.Create(name, s_options);
        var random = new Random(1);

        for (var step = 0; step < 6; step++)
        {
            // When a step runs
            var result = Step(sampler, step, random);

            // Then the drawn and remembered labels are distinct ids in range, none a positive of the step;
            // synthetic columns have ids −1, −2, …
            var positives = result.Positives.ToHashSet();
            Assert.All(result.Extra, y => Assert.InRange(y, 0, Labels - 1));
            Assert.DoesNotContain(result.Extra, positives.Contains);
            Assert.All(result.MemoryIds, y => Assert.InRange(y, 0, Labels - 1));
            var columns = result.Positives.Distinct().Concat(result.Extra).Concat(result.MemoryIds).ToArray();
            Assert.Equal(columns.Length, columns.Distinct().Count());
            Assert.Equal(Enumerable.Range(1, result.SyntheticIds.Length).Select(k => -k), result.SyntheticIds);
            Assert.Equal(result.MemoryIds.Length * Dim, result.Memory.Length);
        }
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void The_same_seed_gives_the_same_steps(string name)
    {
        // Given two samplers of one kind
        using var first = NegativeSamplers.Create(name, s_options);
        using var second = NegativeSamplers.Create(name, s_options);
        var random1 = new Random(2);
        var random2 = new Random(2);

        for (var step = 0; step < 5; step++)
        {
            // When both run the same steps from the same seed
            var a = Step(first, step, random1);
            var b = Step(second, step, random2);

            // Then
            a.AssertSame(b);
        }
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Continuing_after_a_json_restore_equals_continuing_without(string name)
    {
        // Given a sampler after four steps, and a fresh one restored from its state written as JSON
        using var original = NegativeSamplers.Create(name, s_options);
        var random = new Random(3);
        for (var step = 0; step < 4; step++)
        {
            Step(original, step, random);
        }
        var json = JsonSerializer.Serialize(original.SaveState());
        using var restored = NegativeSamplers.Create(name, s_options);
        restored.LoadState(JsonSerializer.Deserialize<SamplerState>(json)!);

        for (var step = 4; step < 8; step++)
        {
            // When both continue from the same seed
            var a = Step(original, step, new Random(step));
            var b = Step(restored, step, new Random(step));

            // Then
            a.AssertSame(b);
        }
    }

    [Fact]
    public void A_checkpoint_keeps_the_memory_in_npy_arrays_and_restores_it()
    {
        // Given a cross-batch sampler after three steps
        using var original = NegativeSamplers.Create("cross-batch", s_options);
        var random = new Random(13);
        for (var step = 0; step < 3; step++)
        {
            Step(original, step, random);
        }

        // When its state goes into arrays plus JSON and back into a fresh sampler
        var arrays = new Dictionary<string, NpyArray>();
        var json = original.SaveState(arrays);
        using var restored = NegativeSamplers.Create("cross-batch", s_options);
        restored.LoadState(json, name => arrays.GetValueOrDefault(name));

        // Then the memory is the same, and the embeddings went to an (ids × D) array
        var (before, after) = (original.SaveState(), restored.SaveState());
        Assert.Equal(before.LabelIds, after.LabelIds);
        Assert.Equal(before.Embeddings, after.Embeddings);
        Assert.Equal([12L, Dim], arrays[NegativeSamplerCheckpoint.EmbeddingsArray].Shape);
    }

    [Fact]
    public void The_cross_batch_memory_is_a_fifo_bounded_by_the_queue_size()
    {
        // Given a memory of five rows
        using var sampler = NegativeSamplers.Create("cross-batch", new NegativeSamplerOptions { QueueSize = 5 });

        // When three steps remember 3, 2 and 3 labels (row of label y = (y, 10y))
        foreach (int[] ids in (int[][])[[0, 1, 2], [3, 4], [5, 6, 7]])
        {
            sampler.DrawLabels(ids, 10, new Random(4));
            using var rows = tensor(ids.SelectMany(y => new float[] { y, 10 * y }).ToArray(), [ids.Length, 2]);
            sampler.Remember(rows, ids);
        }

        // Then the five newest rows remain, oldest first
        var state = sampler.SaveState();
        Assert.Equal([3, 4, 5, 6, 7], state.LabelIds);
        Assert.Equal([3f, 30, 4, 40, 5, 50, 6, 60, 7, 70], state.Embeddings);
        Assert.Equal(2, state.Dimension);
    }

    [Fact]
    public void Memory_columns_skip_labels_encoded_this_step_and_keep_the_newest_copy()
    {
        // Given a memory holding label 3 twice (older row (1, 1), newer (2, 2)) and label 4
        using var sampler = NegativeSamplers.Create("cross-batch", new NegativeSamplerOptions { QueueSize = 8 });
        sampler.DrawLabels([3, 4], 10, new Random(5));
        using (var rows = tensor(new float[] { 1, 1, 4, 4 }, [2, 2]))
        {
            sampler.Remember(rows, [3, 4]);
        }
        sampler.DrawLabels([3], 10, new Random(5));
        using (var rows = tensor(new float[] { 2, 2 }, [1, 2]))
        {
            sampler.Remember(rows, [3]);
        }

        // When a step encodes label 4
        sampler.DrawLabels([4], 10, new Random(6));
        var (memory, ids) = sampler.MemoryColumns(CPU);
        using var columns = memory!;

        // Then only the newest copy of label 3 comes back, without gradient
        Assert.Equal([3], ids);
        Assert.Equal([2f, 2], columns.data<float>().ToArray());
        Assert.False(columns.requires_grad);
    }

    [Fact]
    public void Fork_style_memory_returns_recent_labels_for_re_encoding_instead_of_embeddings()
    {
        // Given a memory of label ids
        using var sampler = NegativeSamplers.Create("cross-batch", new NegativeSamplerOptions { MemoryAsLabelIds = true });
        Remember(sampler, [1, 2]);
        Remember(sampler, [3]);

        // When a step has positive 2
        var extra = sampler.DrawLabels([2], 10, new Random(7));
        var (memory, ids) = sampler.MemoryColumns(CPU);

        // Then labels 1 and 3 are drawn for encoding with gradient, and no embedding column is added
        Assert.Equal([1, 3], extra);
        Assert.Null(memory);
        Assert.Empty(ids);
    }

    [Fact]
    public void Mns_uniform_draws_cover_the_labels_roughly_uniformly()
    {
        // Given 40 labels of which 0-3 are the batch's positives, and six uniform draws per step
        using var sampler = NegativeSamplers.Create("mixed", new NegativeSamplerOptions { CorpusNegatives = 6 });
        var random = new Random(8);
        var counts = new int[40];
        const int steps = 3000;

        // When 3000 steps draw
        for (var step = 0; step < steps; step++)
        {
            foreach (var y in sampler.DrawLabels([0, 1, 2, 3], 40, random))
            {
                counts[y]++;
            }
        }

        // Then positives are never drawn and labels 4-39 fit 500 each: chi-square on 35 d.o.f. below 66.6 (p = 0.001)
        Assert.All(counts[..4], c => Assert.Equal(0, c));
        var expected = steps * 6 / 36.0;
        var chiSquare = counts[4..].Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chiSquare < 66.6, $"chi-square {chiSquare:F1}");
    }

    [Fact]
    public void Batch_mix_columns_are_convex_combinations_with_gradient_into_the_encoded_labels()
    {
        // Given three encoded labels whose embeddings are the unit vectors, with gradient
        using var sampler = NegativeSamplers.Create("batch-mix", new NegativeSamplerOptions { MixNegatives = 4, LabelFrequencies = [1, 2, 3, 4, 5] });
        sampler.DrawLabels([0, 2, 4], 5, new Random(9));
        using var encoded = eye(3).requires_grad_(true);

        // When the synthetic columns are made and summed
        var (mixes, ids) = sampler.SyntheticColumns(encoded, [0, 2, 4], new Random(9));
        using var columns = mixes!;
        using var total = columns.sum();
        total.backward();

        // Then each column is a weight vector (non-negative, summing to 1), and the gradient reaches E
        Assert.Equal([-1, -2, -3, -4], ids);
        var weights = columns.detach().data<float>().ToArray();
        Assert.All(weights, w => Assert.True(w >= 0));
        for (var k = 0; k < 4; k++)
        {
            Assert.Equal(1f, weights.Skip(k * 3).Take(3).Sum(), 5);
        }
        Assert.Equal(4f * 3, encoded.grad!.sum().item<float>(), 4);
    }

    [Fact]
    public void Batch_mix_refuses_a_step_that_skipped_its_synthetic_columns()
    {
        // Given
        using var sampler = NegativeSamplers.Create("batch-mix", new NegativeSamplerOptions());

        // When / Then
        var error = Assert.Throws<InvalidOperationException>(() => Remember(sampler, [1, 2]));
        Assert.Contains("SyntheticColumns", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mixed_bayesian_picks_the_candidate_of_lowest_bayesian_risk()
    {
        // Given six labels, positive 0, and every non-positive label a candidate
        float[] frequencies = [5, 1, 2, 3, 50, 0.5f];
        using var sampler = NegativeSamplers.Create("mixed-bayesian", new NegativeSamplerOptions { LabelFrequencies = frequencies, BayesianCandidates = 5 });

        // When
        var extra = sampler.DrawLabels([0], 6, new Random(10));

        // Then the pick is the argmin of BNS's risk, computed here from the definitions
        var total = frequencies.Sum();
        var best = Enumerable.Range(1, 5).MinBy(l =>
        {
            var info = 1 - (1 / (1 + Math.Exp(-(frequencies[0] - frequencies[l]))));
            var prior = frequencies[l] / total;
            var empirical = Enumerable.Range(1, 5).Count(j => frequencies[j] <= frequencies[l]) / 6.0;
            var unbias = (1 - empirical) * (1 - prior) / (1 - empirical - prior + (2 * empirical * prior));
            return ((1 - unbias) * info) - (10 * unbias * info);
        });
        Assert.Equal([best], extra);
    }

    [Fact]
    public void Log_q_corrections_follow_each_kinds_sampling_distribution()
    {
        // Given frequencies 1, 1, 2, 4 (p = 1/8, 1/8, 1/4, 1/2) and two positive draws
        var options = new NegativeSamplerOptions { LabelFrequencies = [1, 1, 2, 4], LogQCorrection = true, CorpusNegatives = 2, MixNegatives = 1 };
        using var inBatch = NegativeSamplers.Create("in-batch", options);
        using var mixed = NegativeSamplers.Create("mixed", options);
        using var batchMix = NegativeSamplers.Create("batch-mix", options);
        using var plain = NegativeSamplers.Create("in-batch", options with { LogQCorrection = false });
        foreach (var sampler in new[] { inBatch, mixed, batchMix, plain })
        {
            sampler.DrawLabels([2, 3], 4, new Random(11));
        }

        // When
        using var unigram = inBatch.ColumnLogitCorrection([2, 3], CPU)!;
        using var mixture = mixed.ColumnLogitCorrection([2, 3, 0], CPU)!;
        using var synthetic = batchMix.ColumnLogitCorrection([3, -1], CPU)!;

        // Then −log p(y); −log(B·p(y) + B'/L) with B = B' = 2, L = 4; a synthetic column takes none
        Assert.Equal([(float)-Math.Log(0.25), (float)-Math.Log(0.5)], unigram.data<float>().ToArray());
        Assert.Equal([(float)-Math.Log(1.0), (float)-Math.Log(1.5), (float)-Math.Log(0.75)], mixture.data<float>().ToArray());
        Assert.Equal([(float)-Math.Log(0.5), 0f], synthetic.data<float>().ToArray());
        Assert.Null(plain.ColumnLogitCorrection([2, 3], CPU));
        Assert.Throws<SkimConfigException>(() => NegativeSamplers.Create("in-batch", new NegativeSamplerOptions { LogQCorrection = true }));
        Assert.Throws<SkimConfigException>(() => NegativeSamplers.Create("mixed-bayesian", new NegativeSamplerOptions()));
    }

    [Fact]
    public void A_state_saved_by_another_kind_is_refused()
    {
        // Given
        using var crossBatch = NegativeSamplers.Create("cross-batch", s_options);
        using var mixed = NegativeSamplers.Create("cross-batch-mixed", s_options);

        // When / Then
        var error = Assert.Throws<SkimConfigException>(() => mixed.LoadState(crossBatch.SaveState()));
        Assert.Contains("'cross-batch'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Beta_draws_have_the_right_mean()
    {
        // Given / When 20,000 draws of Beta(2, 5) and Beta(0.5, 0.5)
        var random = new Random(12);
        var skewed = Enumerable.Range(0, 20_000).Average(_ => RandomDraws.Beta(random, 2, 5));
        var arcsine = Enumerable.Range(0, 20_000).Average(_ => RandomDraws.Beta(random, 0.5, 0.5));

        // Then the means 2/7 and 1/2 within about five standard errors
        Assert.Equal(2.0 / 7, skewed, 0.008);
        Assert.Equal(0.5, arcsine, 0.013);
    }

    public static TheoryData<string> AllNames() => [.. NegativeSamplers.Names];

    // One training step in the order of INegativeSampler's remarks; label embeddings depend on id and step.
    private static StepResult Step(INegativeSampler sampler, int step, Random random)
    {
        var positives = Enumerable.Range(0, 5).Select(_ => random.Next(Labels)).ToArray();
        var extra = sampler.DrawLabels(positives, Labels, random);
        var encodedIds = positives.Distinct().Concat(extra).ToArray();
        using var encoded = tensor(encodedIds.SelectMany(y => new float[] { y, step, (y * 0.5f) + step }).ToArray(), [encodedIds.Length, Dim]);
        var (synthetic, syntheticIds) = sampler.SyntheticColumns(encoded, encodedIds, random);
        var (memory, memoryIds) = sampler.MemoryColumns(CPU);
        using var correction = sampler.ColumnLogitCorrection([.. encodedIds, .. syntheticIds, .. memoryIds], CPU);
        sampler.Remember(encoded, encodedIds);
        var result = new StepResult(positives, extra, syntheticIds, Values(synthetic), memoryIds, Values(memory));
        synthetic?.Dispose();
        memory?.Dispose();
        return result;
    }

    private static void Remember(INegativeSampler sampler, int[] ids)
    {
        sampler.DrawLabels(ids, 10, new Random(0));
        using var rows = zeros(ids.Length, 2);
        sampler.Remember(rows, ids);
    }

    private static float[] Values(Tensor? t) => t is null ? [] : t.detach().data<float>().ToArray();

    private sealed record StepResult(int[] Positives, int[] Extra, int[] SyntheticIds, float[] Synthetic, int[] MemoryIds, float[] Memory)
    {
        public void AssertSame(StepResult other)
        {
            Assert.Equal(Positives, other.Positives);
            Assert.Equal(Extra, other.Extra);
            Assert.Equal(SyntheticIds, other.SyntheticIds);
            Assert.Equal(Synthetic, other.Synthetic);
            Assert.Equal(MemoryIds, other.MemoryIds);
            Assert.Equal(Memory, other.Memory);
        }
    }
}
