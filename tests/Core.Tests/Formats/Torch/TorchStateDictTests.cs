using System.Text.Json;
using Skim.Core.Formats.SafeTensors;
using Skim.Core.Formats.Torch;

namespace Skim.Core.Tests.Formats.Torch;

/// <summary>Runs bench/reference/make_state_dicts.py once for the class (it needs PyTorch).</summary>
public sealed class StateDictFixture : IDisposable
{
    private readonly Lazy<JsonDocument> _expected;

    public StateDictFixture()
    {
        _expected = new Lazy<JsonDocument>(() =>
        {
            PythonReference.Run(PythonReference.Script("make_state_dicts.py"), Folder.Path);
            return JsonDocument.Parse(System.IO.File.ReadAllText(Folder.File("expected.json")));
        });
    }

    public TempDirectory Folder { get; } = new();

    /// <summary>Gets the path of a generated fixture; generates the fixtures on first use.</summary>
    public string File(string name)
    {
        _ = _expected.Value;
        return Folder.File(name);
    }

    /// <summary>Gets what PyTorch saved, per file and key; generates the fixtures on first use.</summary>
    public JsonElement Expected => _expected.Value.RootElement;

    public void Dispose()
    {
        if (_expected.IsValueCreated)
        {
            _expected.Value.Dispose();
        }
        Folder.Dispose();
    }
}

public sealed class TorchStateDictTests(StateDictFixture fixture) : IClassFixture<StateDictFixture>
{
    [SkippableTheory]
    [InlineData("dtypes.pt")]
    [InlineData("shared.pt")]
    [InlineData("module.pt")]
    [InlineData("nested.pt")]
    [InlineData("parameter.pt")]
    public void A_checkpoint_saved_by_torch_loads_with_the_same_keys_dtypes_shapes_and_values(string name)
    {
        // Given
        PythonReference.Require("torch");
        var expected = fixture.Expected.GetProperty(name);

        // When
        var tensors = TorchStateDict.Load(fixture.File(name));

        // Then
        Assert.Equal(expected.EnumerateObject().Select(p => p.Name), tensors.Keys);
        foreach (var entry in expected.EnumerateObject())
        {
            var tensor = tensors[entry.Name];
            Assert.Equal(entry.Name, tensor.Name);
            Assert.Equal(entry.Value.GetProperty("dtype").GetString(), tensor.DType.TorchName());
            Assert.Equal(entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), tensor.Shape);
            var values = entry.Value.GetProperty("values").EnumerateArray();
            if (tensor.DType.IsFloatingPoint())
            {
                Assert.Equal(values.Select(e => e.GetDouble()), tensor.ToFloat64Array());
            }
            else
            {
                Assert.Equal(values.Select(e => e.GetInt64()), tensor.ToInt64Array());
            }
        }
    }

    [SkippableFact]
    public void Nested_checkpoints_flatten_to_dotted_keys_and_skip_values_that_are_not_tensors()
    {
        // Given
        PythonReference.Require("torch");

        // When
        var tensors = TorchStateDict.Load(fixture.File("nested.pt"));

        // Then
        Assert.Contains("model.encoder.transformer.transformer.layer.0.attention.q_lin.weight", tensors.Keys);
        Assert.Contains("heads.1", tensors.Keys);
        Assert.Equal(TensorDType.Float16, tensors["heads.1"].DType);
        Assert.DoesNotContain("epoch", tensors.Keys);
        Assert.DoesNotContain("note", tensors.Keys);
    }

    [SkippableTheory]
    [InlineData("malicious_system.pt", "posix.system")]
    [InlineData("malicious_eval.pt", "builtins.eval")]
    public void A_checkpoint_that_would_run_code_is_refused_naming_the_global_and_runs_nothing(string name, string global)
    {
        // Given
        PythonReference.Require("torch");
        var path = fixture.File(name);
        var marker = fixture.File("PWNED");

        // When
        var error = Record.Exception(() => TorchStateDict.Load(path));

        // Then
        var format = Assert.IsType<SkimFormatException>(error);
        Assert.Contains($"global '{global}' is not allowed", format.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, format.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    [SkippableFact]
    public void Torch_really_runs_the_malicious_payload_so_the_refusal_above_is_meaningful()
    {
        // Given
        PythonReference.Require("torch");
        using var scratch = new TempDirectory();
        var copy = scratch.File("m.pt");
        File.Copy(fixture.File("malicious_system.pt"), copy);
        var marker = fixture.File("PWNED");
        File.Delete(marker);

        // When
        PythonReference.RunCode("import sys, torch; torch.load(sys.argv[1])", copy);

        // Then
        Assert.True(File.Exists(marker));
        File.Delete(marker);
    }

    [SkippableFact]
    public void Views_of_one_storage_read_the_right_elements_including_a_transposed_one()
    {
        // Given
        PythonReference.Require("torch");

        // When
        var tensors = TorchStateDict.Load(fixture.File("shared.pt"));

        // Then
        Assert.Equal(new float[] { 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 }, tensors["rows"].ToFloat32Array());
        Assert.Equal(new long[] { 6, 4 }, tensors["transposed"].Shape);
        Assert.Equal(new float[] { 0, 6, 12, 18 }, tensors["transposed"].ToFloat32Array()[..4]);
        Assert.Equal(new float[] { 2, 8, 14, 20 }, tensors["column"].ToFloat32Array());
        Assert.Equal(new float[] { 20, 21, 22, 23 }, tensors["tail"].ToFloat32Array());
    }
}
