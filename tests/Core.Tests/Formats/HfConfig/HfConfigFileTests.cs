using System.Text.Json.Serialization;
using Skim.Core.Formats.HfConfig;

namespace Skim.Core.Tests.Formats.HfConfig;

public sealed class HfConfigFileTests
{
    private const string Llama = """
        {
          "architectures": ["LlamaForCausalLM"],
          "hidden_size": 576,
          "num_key_value_heads": 3,
          "rms_norm_eps": 1e-05,
          "rope_theta": 10000.0,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "eos_token_id": 2,
          "bad_token_id": [1, 2],
          "rope_scaling": {"type": "linear", "factor": 2.0},
          "quantization_config": null,
          "vocab_size": "abc"
        }
        """;

    [Fact]
    public void Typed_getters_read_present_keys_and_fall_back_to_defaults_for_missing_or_null_ones()
    {
        // Given
        var config = HfConfigFile.Parse(Llama);

        // When
        var hidden = config.GetInt32("hidden_size");
        var layers = config.GetInt32("num_hidden_layers", 30);
        var eps = config.GetDouble("rms_norm_eps");
        var tied = config.GetBoolean("tie_word_embeddings", false);
        var quantised = config.GetSection("quantization_config");

        // Then
        Assert.Equal(576, hidden);
        Assert.Equal(30, layers);
        Assert.Equal(1e-5, eps);
        Assert.True(tied);
        Assert.Null(quantised);
        Assert.Equal("bfloat16", config.GetString("torch_dtype"));
        Assert.Equal(["LlamaForCausalLM"], config.GetStringArray("architectures"));
        Assert.Equal([2], config.GetInt32Array("eos_token_id"));
        Assert.Equal([1, 2], config.GetInt32Array("bad_token_id"));
        Assert.Equal(2.0, config.GetSection("rope_scaling")!.GetDouble("factor"));
        Assert.False(config.Contains("quantization_config"));
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_the_file_the_key_the_expectation_and_the_value()
    {
        // Given
        var config = HfConfigFile.Parse(Llama, "model/config.json");

        // When
        var error = Record.Exception(() => config.GetInt32("vocab_size"));

        // Then
        Assert.Equal("model/config.json: key 'vocab_size': expected a 32-bit integer, found \"abc\"", Assert.IsType<SkimFormatException>(error).Message);
    }

    [Fact]
    public void A_wrong_type_inside_a_section_names_the_dotted_key()
    {
        // Given
        var section = HfConfigFile.Parse(Llama).GetSection("rope_scaling")!;

        // When
        var error = Record.Exception(() => section.GetInt32("type"));

        // Then
        Assert.Contains("key 'rope_scaling.type': expected a 32-bit integer, found \"linear\"", Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_required_key_is_an_error_naming_the_key()
    {
        // Given
        var config = HfConfigFile.Parse(Llama);

        // When
        var error = Record.Exception(() => config.GetInt32("intermediate_size"));

        // Then
        Assert.Contains("key 'intermediate_size': is required but missing", Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_a_folder_without_config_json_names_the_folder()
    {
        // Given
        using var temp = new TempDirectory();

        // When
        var error = Record.Exception(() => HfConfigFile.Read(temp.Path));

        // Then
        Assert.Equal($"{temp.Path}: no config.json in this folder", Assert.IsType<SkimFormatException>(error).Message);
    }

    [Fact]
    public void Reading_a_folder_finds_its_config_json()
    {
        // Given
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), Llama);

        // When
        var config = HfConfigFile.Read(temp.Path);

        // Then
        Assert.Equal(temp.File("config.json"), config.Path);
        Assert.Equal(3, config.GetInt32("num_key_value_heads"));
    }

    [Fact]
    public void Invalid_json_is_refused_with_its_line_number()
    {
        // Given
        const string Broken = "{\n  \"hidden_size\": 5,\n  \"x\": ]\n}";

        // When
        var error = Record.Exception(() => HfConfigFile.Parse(Broken, "c.json"));

        // Then
        Assert.StartsWith("c.json: line 3: invalid JSON", Assert.IsType<SkimFormatException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialising_into_a_record_maps_snake_case_names_and_reports_mismatches_by_key()
    {
        // Given
        var good = HfConfigFile.Parse("""{"hidden_size": 32, "rope_theta": 500000.0}""");
        var bad = HfConfigFile.Parse("""{"hidden_size": "big"}""", "bad/config.json");

        // When
        var record = good.Deserialize<TinyConfig>();
        var error = Record.Exception(() => bad.Deserialize<TinyConfig>());

        // Then
        Assert.Equal(new TinyConfig { HiddenSize = 32, RopeTheta = 500000.0 }, record);
        var message = Assert.IsType<SkimFormatException>(error).Message;
        Assert.StartsWith("bad/config.json: key 'hidden_size': does not fit TinyConfig", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_serialised_record_reads_back_equal_and_leaves_null_values_out()
    {
        // Given a record without quantisation settings
        var config = new TinyConfig { HiddenSize = 64, RopeTheta = 1e6 };

        // When it is written and read back
        var json = HfConfigFile.Serialize(config);
        var read = HfConfigFile.Parse(json);

        // Then the values survive, the text is indented as save_pretrained writes it, and the null key
        // is absent (some transformers versions treat a present quantization_config as quantised)
        Assert.Equal(config, read.Deserialize<TinyConfig>());
        Assert.Contains("\n  \"hidden_size\": 64", json, StringComparison.Ordinal);
        Assert.DoesNotContain("quantization_config", json, StringComparison.Ordinal);
    }

    private sealed record TinyConfig
    {
        [JsonPropertyName("hidden_size")]
        public int HiddenSize { get; init; }

        [JsonPropertyName("rope_theta")]
        public double RopeTheta { get; init; } = 10000.0;

        [JsonPropertyName("quantization_config")]
        public Dictionary<string, int>? QuantizationConfig { get; init; }
    }
}
