using Skim.Models.Bert;
using Skim.Models.DistilBert;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Encoders;

/// <summary>Tiny random encoders written in the real on-disk layout (config.json + model.safetensors).</summary>
internal static class EncoderFixtures
{
    /// <summary>Builds a tiny DistilBERT and gives every parameter seeded random values (LayerNorms near 1).</summary>
    public static DistilBertModel TinyDistilBert(long seed = 7, DistilBertConfig? config = null)
    {
        var model = new DistilBertModel(config ?? DistilBertConfig.Tiny);
        Randomize(model, seed);
        model.eval();
        return model;
    }

    /// <summary>Builds a tiny BERT (with pooler) and gives every parameter seeded random values.</summary>
    public static BertModel TinyBert(long seed = 11, BertConfig? config = null, bool pooler = true)
    {
        var model = new BertModel(config ?? BertConfig.Tiny, pooler);
        Randomize(model, seed);
        model.eval();
        return model;
    }

    /// <summary>Writes a random tiny DistilBERT checkpoint folder and returns it.</summary>
    public static string WriteDistilBert(string folder, long seed = 7, DistilBertConfig? config = null)
    {
        using var model = TinyDistilBert(seed, config);
        WeightSaver.SavePretrained(model, model.Config, folder);
        return folder;
    }

    /// <summary>Writes a random tiny BERT checkpoint folder and returns it.</summary>
    public static string WriteBert(string folder, long seed = 11, BertConfig? config = null)
    {
        using var model = TinyBert(seed, config);
        WeightSaver.SavePretrained(model, model.Config, folder);
        return folder;
    }

    /// <summary>Fills every parameter with seeded noise: LayerNorm weights 1 ± 0.1·N, everything else 0.2·N (embeddings N).</summary>
    public static void Randomize(nn.Module module, long seed)
    {
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            using var noise = randn(parameter.shape, generator: generator);
            var isNorm = name.Contains("LayerNorm", StringComparison.Ordinal) || name.Contains("layer_norm", StringComparison.Ordinal);
            var isEmbedding = name.Contains("embeddings.", StringComparison.Ordinal) && !isNorm;
            if (isNorm && name.EndsWith(".weight", StringComparison.Ordinal))
            {
                parameter.copy_(noise * 0.1 + 1.0);
            }
            else
            {
                parameter.copy_(noise * (isEmbedding ? 1.0 : 0.2));
            }
        }
    }

    /// <summary>A (3, 7) batch: one full row, one with 3 padding tokens, one with a single real token.</summary>
    public static (long[] Ids, long[] Mask, int Rows, int Width) PaddedBatch(int vocabulary = 128)
    {
        long[] ids =
        [
            2, 17, 45, 99, 3, 64, 5,
            2, 33, 120, 9, 0, 0, 0,
            2, 0, 0, 0, 0, 0, 0,
        ];
        long[] mask =
        [
            1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, 1, 0, 0, 0,
            1, 0, 0, 0, 0, 0, 0,
        ];
        Assert.True(ids.Max() < vocabulary);
        return (ids, mask, 3, 7);
    }
}
