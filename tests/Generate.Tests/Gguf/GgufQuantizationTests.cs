using Skim.Generate.Backends;
using Skim.Generate.Gguf;
using Skim.Generate.Tests.Runs;
using Xunit.Abstractions;

namespace Skim.Generate.Tests.Gguf;

[Collection(GenerateLibTorchCollection.Name)]
public sealed class GgufQuantizationTests(TinyModelsFixture models, ITestOutputHelper output) : IClassFixture<TinyModelsFixture>
{
    [Theory]
    [InlineData("q8_0", 0.9, 0.05)]
    [InlineData("q4_0", 0.6, 0.5)]
    [InlineData("q4_k_m", 0.6, 0.5)]
    public void A_quantized_export_predicts_nearly_as_the_f32_export(string quant, double minimumAgreement, double maximumKl)
    {
        // Given a tiny Llama (widths multiples of 32) exported as f32 and as the quantized type
        var folder = models.Get("llama", wide: true);
        using var reference = new LlamaSharpBackend(new LlamaSharpBackendOptions { ModelDirectory = folder, Quant = "f32", BatchSize = 1, Threads = 2, ContextSize = 128 });
        using var quantized = new LlamaSharpBackend(new LlamaSharpBackendOptions { ModelDirectory = folder, Quant = quant, BatchSize = 1, Threads = 2, ContextSize = 128 });

        // When both score every position of a few texts
        double agreements = 0, kl = 0;
        var positions = 0;
        foreach (var text in GgufTestModels.Texts)
        {
            var tokens = reference.Tokenize(text);
            var p = reference.Logits(tokens);
            var q = quantized.Logits(tokens);
            for (var t = 0; t < tokens.Length; t++)
            {
                agreements += ArgMax(p[t]) == ArgMax(q[t]) ? 1 : 0;
                kl += KullbackLeibler(p[t], q[t]);
                positions++;
            }
        }

        // Then the next-token argmax mostly agrees and the mean KL(f32 ‖ quantized) is small
        var agreement = agreements / positions;
        var meanKl = kl / positions;
        output.WriteLine($"{quant}: {new FileInfo(quantized.GgufPath).Length} bytes (f32 {new FileInfo(reference.GgufPath).Length}); next-token agreement {agreement:P1} over {positions} positions, mean KL {meanKl:G3} nats");
        Assert.InRange(agreement, minimumAgreement, 1);
        Assert.InRange(meanKl, 0, maximumKl);
        Assert.True(new FileInfo(quantized.GgufPath).Length < new FileInfo(reference.GgufPath).Length);
        Assert.Contains($"-{quant}.gguf", quantized.GgufPath, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_whose_widths_do_not_fill_blocks_of_32_is_refused_for_q8_0_with_the_width()
    {
        // Given the tiny preset, whose MLP is 37 wide
        var folder = models.Get("llama");

        // When it is exported as q8_0, Then the error names the type, the width and what works instead
        var error = Assert.Throws<Skim.Core.SkimConfigException>(() => GgufExport.Export(folder, models.File("q8.gguf"), GgufType.Q8_0));
        Assert.Contains("intermediate_size 37", error.Message, StringComparison.Ordinal);
        Assert.Contains("--type q8_0", error.Message, StringComparison.Ordinal);
    }

    private static int ArgMax(float[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }

    private static double KullbackLeibler(float[] pLogits, float[] qLogits)
    {
        var p = LogSoftmax(pLogits);
        var q = LogSoftmax(qLogits);
        double sum = 0;
        for (var i = 0; i < p.Length; i++)
        {
            sum += Math.Exp(p[i]) * (p[i] - q[i]);
        }
        return sum;
    }

    private static double[] LogSoftmax(float[] logits)
    {
        var max = logits.Max();
        var log = Math.Log(logits.Sum(v => Math.Exp(v - max)));
        return [.. logits.Select(v => v - max - log)];
    }
}
