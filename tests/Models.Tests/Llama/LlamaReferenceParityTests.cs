using System.Runtime.InteropServices;
using System.Text.Json;
using Skim.Models.Llama;

namespace Skim.Models.Tests.Llama;

/// <summary>Compares Skim's decoder with bench/reference/llama_reference.py, an independent plain-PyTorch forward.</summary>
[Collection(LibTorchCollection.Name)]
public sealed class LlamaReferenceParityTests
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string> Architectures => ["llama", "qwen2", "tied", "mistral"];

    [SkippableTheory]
    [MemberData(nameof(Architectures))]
    public void Logits_match_the_pytorch_reference_on_a_left_padded_batch(string architecture)
    {
        // Given random tiny weights written as config.json + model.safetensors and a left-padded batch
        PythonReference.Require("torch", "numpy");
        using var folder = new TempDirectory();
        var config = architecture == "mistral" ? LlamaConfig.Tiny with { ModelType = "mistral", SlidingWindow = 4096 } : Generation.KvCacheTests.Config(architecture);
        var modelDir = LlamaFixtures.Write(folder.File("model"), config);
        long[][] ids = [[0, 0, 3, 9, 27, 81], [5, 10, 15, 20, 25, 30]];
        long[][] mask = [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]];

        // When the reference and Skim (reloaded from the folder) both compute the logits
        var shape = PythonReference.Run(
            PythonReference.Script("llama_reference.py"), modelDir,
            "--ids", JsonSerializer.Serialize(ids), "--mask", JsonSerializer.Serialize(mask), "--out", folder.File("logits.f32"));
        var reference = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(folder.File("logits.f32"))).ToArray();
        using var model = LlamaForCausalLM.FromPretrained(modelDir);
        var ours = LlamaFixtures.Logits(model, [.. ids.SelectMany(r => r)], 2, [.. mask.SelectMany(r => r)]);

        // Then the shapes agree and every real position's logits agree within 1e-4
        Assert.Equal("[2, 6, 128]", shape.Trim());
        const int V = 128;
        for (var row = 0; row < 2; row++)
        {
            for (var t = 0; t < 6; t++)
            {
                if (mask[row][t] == 1)
                {
                    var at = ((row * 6) + t) * V;
                    LlamaFixtures.AssertClose(reference.AsSpan(at, V), ours.AsSpan(at, V), Tolerance, $"row {row}, position {t}");
                }
            }
        }
    }
}
