using System.Text.Json;
using Skim.Models.Encoders;

namespace Skim.Models.Tests.Encoders;

/// <summary>Compares Skim's encoders with bench/reference/encoder_reference.py, an independent PyTorch forward.</summary>
[Collection(LibTorchCollection.Name)]
public sealed class ReferenceParityTests
{
    private const double Tolerance = 1e-4;

    [SkippableTheory]
    [InlineData("distilbert")]
    [InlineData("bert")]
    public void Hidden_states_and_pooled_embeddings_match_the_pytorch_reference(string modelType)
    {
        // Given random tiny weights written to safetensors and a padded batch
        PythonReference.Require("torch", "numpy");
        using var folder = new TempDirectory();
        var model = folder.File("model");
        _ = modelType == "bert" ? EncoderFixtures.WriteBert(model) : EncoderFixtures.WriteDistilBert(model);
        var (ids, mask, rows, width) = EncoderFixtures.PaddedBatch();
        File.WriteAllText(folder.File("input.json"), JsonSerializer.Serialize(new
        {
            input_ids = ids.Chunk(width).ToArray(),
            attention_mask = mask.Chunk(width).ToArray(),
        }));

        // When the reference and Skim both encode it
        PythonReference.Run(PythonReference.Script("encoder_reference.py"), model, folder.File("input.json"), folder.File("output.json"));
        using var reference = JsonDocument.Parse(File.ReadAllText(folder.File("output.json")));
        using var mean = TextEncoder.Load(model, new TextEncoderOptions { Device = "cpu" });
        using var normalized = TextEncoder.Load(model, new TextEncoderOptions { Device = "cpu", Normalize = true });
        using var cls = TextEncoder.Load(model, new TextEncoderOptions { Device = "cpu", Pooling = PoolingMode.Cls });
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var noGrad = TorchSharp.torch.no_grad();
        var hidden = mean.Model.forward(TorchSharp.torch.tensor(ids, [rows, width]), TorchSharp.torch.tensor(mask, [rows, width]));

        // Then every hidden state and embedding agrees within 1e-4
        AssertClose(Flatten(reference.RootElement.GetProperty("last_hidden_state")), hidden.data<float>().ToArray(), "last_hidden_state");
        AssertClose(Flatten(reference.RootElement.GetProperty("mean")), mean.EmbedToArray(ids, mask, rows, width), "mean");
        AssertClose(Flatten(reference.RootElement.GetProperty("mean_normalized")), normalized.EmbedToArray(ids, mask, rows, width), "mean_normalized");
        AssertClose(Flatten(reference.RootElement.GetProperty("cls")), cls.EmbedToArray(ids, mask, rows, width), "cls");
        if (mean.Model is Skim.Models.Bert.BertModel bert)
        {
            AssertClose(Flatten(reference.RootElement.GetProperty("pooler")), bert.Pool(hidden).data<float>().ToArray(), "pooler");
        }
    }

    private static double[] Flatten(JsonElement element) =>
        element.ValueKind == JsonValueKind.Array
            ? element.EnumerateArray().SelectMany(Flatten).ToArray()
            : [element.GetDouble()];

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= Tolerance, $"{what}: largest difference {worst:G3} exceeds {Tolerance}");
    }
}
