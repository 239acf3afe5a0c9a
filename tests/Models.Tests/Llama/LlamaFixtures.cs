using Skim.Models.Llama;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Llama;

/// <summary>Tiny random decoders, in memory or written in the real on-disk layout (config.json + model.safetensors).</summary>
internal static class LlamaFixtures
{
    /// <summary>Gets a tiny Qwen2: q/k/v biases, GQA 4/2, θ = 1e6, untied head.</summary>
    public static LlamaConfig TinyQwen2 { get; } = LlamaConfig.Tiny with
    {
        ModelType = "qwen2",
        RopeTheta = 1_000_000,
        RmsNormEps = 1e-6,
        Architectures = ["Qwen2ForCausalLM"],
    };

    /// <summary>Gets a tiny SmolLM-style Llama: tied embeddings, multi-query attention (one kv head), θ = 10000.</summary>
    public static LlamaConfig TinyTied { get; } = LlamaConfig.Tiny with
    {
        NumKeyValueHeads = 1,
        TieWordEmbeddings = true,
    };

    /// <summary>
    /// Builds a model and fills every parameter with seeded noise large enough that logits differ
    /// clearly between tokens: norm weights 1 ± 0.2·N, biases and weights 0.3·N, embeddings N.
    /// </summary>
    public static LlamaForCausalLM Create(LlamaConfig? config = null, long seed = 7)
    {
        var model = new LlamaForCausalLM(config ?? LlamaConfig.Tiny);
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            using var noise = randn(parameter.shape, generator: generator);
            using var value = name.Contains("norm", StringComparison.Ordinal) ? noise * 0.2 + 1.0
                : name.Contains("embed_tokens", StringComparison.Ordinal) ? noise.alias()
                : noise * 0.3;
            parameter.copy_(value);
        }
        model.eval();
        return model;
    }

    /// <summary>Writes a random tiny checkpoint folder (config.json + model.safetensors) and returns it.</summary>
    public static string Write(string folder, LlamaConfig? config = null, long seed = 7)
    {
        using var model = Create(config, seed);
        WeightSaver.SavePretrained(model, model.Config, folder);
        return folder;
    }

    /// <summary>Returns logits (B, T, V) of one full forward pass without cache, as float32 values.</summary>
    public static float[] Logits(LlamaForCausalLM model, long[] ids, long rows, long[]? mask = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var width = ids.Length / rows;
        using var input = tensor(ids, [rows, width]);
        using var attention = mask is null ? null : tensor(mask, [rows, width]);
        using var logits = model.forward(input, attention);
        return logits.data<float>().ToArray();
    }

    /// <summary>
    /// Asserts |expected − actual| ≤ tolerance · (1 + |expected|) element-wise (torch.allclose with
    /// atol = rtol = tolerance), naming the worst element: float32 rounding grows with the magnitude.
    /// </summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        var at = -1;
        for (var i = 0; i < expected.Length; i++)
        {
            var excess = Math.Abs((double)expected[i] - actual[i]) / (1 + Math.Abs((double)expected[i]));
            if (!(excess <= worst))
            {
                worst = excess;
                at = i;
            }
        }
        Assert.True(worst <= tolerance, $"{what}: element {at} is {(at < 0 ? 0 : actual[at])}, expected {(at < 0 ? 0 : expected[at])}: scaled difference {worst:G3} exceeds {tolerance}");
    }
}
