using Skim.Core;
using Skim.Models.Encoders;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Encoders;

[Collection(LibTorchCollection.Name)]
public sealed class TextEncoderTests
{
    [Fact]
    public void Mean_pooling_ignores_padding()
    {
        // Given a saved DistilBERT and one text, alone and padded with arbitrary ids
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path);
        using var encoder = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" });

        // When both are embedded
        var alone = encoder.EmbedToArray([2, 33, 120, 9], [1, 1, 1, 1], 1, 4);
        var padded = encoder.EmbedToArray([2, 33, 120, 9, 64, 64, 7], [1, 1, 1, 1, 0, 0, 0], 1, 7);

        // Then the embeddings agree
        Assert.Equal(32, alone.Length);
        for (var i = 0; i < alone.Length; i++)
        {
            Assert.Equal(alone[i], padded[i], 1e-5);
        }
    }

    [Fact]
    public void Normalised_embeddings_have_unit_length_and_cls_pooling_takes_the_first_token()
    {
        // Given a saved BERT, loaded twice: mean + normalise, and cls
        using var folder = new TempDirectory();
        EncoderFixtures.WriteBert(folder.Path);
        using var normalized = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu", Normalize = true });
        using var cls = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu", Pooling = PoolingMode.Cls });
        var (ids, mask, rows, width) = EncoderFixtures.PaddedBatch();

        // When a padded batch is embedded
        var unit = normalized.EmbedToArray(ids, mask, rows, width);
        var first = cls.EmbedToArray(ids, mask, rows, width);

        // Then rows have norm 1, and cls rows equal the first hidden state
        for (var r = 0; r < rows; r++)
        {
            var norm = Math.Sqrt(unit.Skip(r * 32).Take(32).Sum(v => (double)v * v));
            Assert.Equal(1.0, norm, 1e-5);
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var hidden = cls.Model.forward(tensor(ids, [rows, width]), tensor(mask, [rows, width]));
        Assert.Equal(hidden.select(1, 0).data<float>().ToArray(), first);
    }

    [Fact]
    public void Float16_output_rounds_the_float32_embeddings()
    {
        // Given a saved DistilBERT loaded with float32 and float16 outputs
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path);
        using var f32 = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" });
        using var f16 = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu", OutputDType = "float16" });
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 2, 5, 6 }, [1, 3]);
        var mask = ones(1, 3, dtype: ScalarType.Int64);

        // When the same batch is embedded
        var wide = f32.Embed(ids, mask);
        var narrow = f16.Embed(ids, mask);

        // Then the half output is the float32 output rounded
        Assert.Equal(ScalarType.Float16, narrow.dtype);
        Assert.True(wide.to_type(ScalarType.Float16).equal(narrow).all().item<bool>());
    }

    [Fact]
    public void A_projection_in_the_checkpoint_is_applied_after_pooling()
    {
        // Given a checkpoint that also holds projection.weight (8 x 32) and projection.bias
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path);
        using var plain = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" });
        var weights = new Dictionary<string, Skim.Core.Formats.SafeTensors.RawTensor>();
        using (var file = Skim.Core.Formats.SafeTensors.SafeTensorsFile.Open(folder.File("model.safetensors")))
        {
            foreach (var (key, value) in file)
            {
                weights[key] = value.ToDType(value.DType);
            }
        }
        var w = Enumerable.Range(0, 8 * 32).Select(i => (float)Math.Sin(i)).ToArray();
        var b = Enumerable.Range(0, 8).Select(i => i * 0.5f).ToArray();
        weights["projection.weight"] = Skim.Core.Formats.SafeTensors.RawTensor.FromFloat32("projection.weight", [8, 32], w);
        weights["projection.bias"] = Skim.Core.Formats.SafeTensors.RawTensor.FromFloat32("projection.bias", [8], b);
        Skim.Core.Formats.SafeTensors.SafeTensorsWriter.Write(folder.File("model.safetensors"), weights.Values.Select((t, i) => t.WithName(weights.Keys.ElementAt(i))));

        // When it is loaded and a text embedded
        using var projected = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" });
        var pooled = plain.EmbedToArray([2, 9, 4], [1, 1, 1], 1, 3);
        var result = projected.EmbedToArray([2, 9, 4], [1, 1, 1], 1, 3);

        // Then the result is W · pooled + b
        Assert.Equal(8, projected.Dimension);
        for (var o = 0; o < 8; o++)
        {
            var expected = b[o] + Enumerable.Range(0, 32).Sum(i => (double)w[o * 32 + i] * pooled[i]);
            Assert.Equal(expected, result[o], 1e-4);
        }
    }

    [Fact]
    public void A_folder_without_config_json_is_refused_naming_the_folder()
    {
        // Given a folder with weights but no config.json
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path);
        File.Delete(folder.File("config.json"));

        // When it is loaded
        var error = Assert.Throws<SkimFormatException>(() => TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" }));

        // Then the message names the folder and the missing file
        Assert.Contains(folder.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains("no config.json", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("roberta")]
    [InlineData("llama")]
    public void An_unknown_model_type_is_refused_by_name(string modelType)
    {
        // Given a config.json of another architecture
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path);
        File.WriteAllText(folder.File("config.json"), $"{{\"model_type\": \"{modelType}\"}}");

        // When it is loaded
        var error = Assert.Throws<SkimFormatException>(() => TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" }));

        // Then the message names the key and the value
        Assert.Equal("key 'model_type'", error.Location);
        Assert.Contains($"unsupported \"{modelType}\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_safetensors_file_is_refused()
    {
        // Given a checkpoint whose weight file lost its last kilobyte
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path);
        var path = folder.File("model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^1024]);

        // When it is loaded
        var error = Assert.Throws<SkimFormatException>(() => TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" }));

        // Then the error names the file
        Assert.Contains("model.safetensors", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_that_disagrees_with_the_weights_lists_the_shape_mismatches()
    {
        // Given weights of a hidden-32 model and a config claiming a 64-wide FFN
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path);
        File.WriteAllText(folder.File("config.json"), "{\"model_type\":\"distilbert\",\"vocab_size\":128,\"dim\":32,\"n_layers\":2,\"n_heads\":4,\"hidden_dim\":64,\"max_position_embeddings\":64}");

        // When it is loaded
        var error = Assert.Throws<SkimFormatException>(() => TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" }));

        // Then the six mis-sized FFN tensors are named
        Assert.Contains("6 shape mismatches", error.Message, StringComparison.Ordinal);
        Assert.Contains("transformer.layer.1.ffn.lin2.weight (expected [32, 64], found [32, 37])", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tokenizer_with_more_ids_than_embedding_rows_is_refused()
    {
        // Given a model with 128 word embeddings
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path);
        using var encoder = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" });

        // When a 30522-id tokenizer is checked against it (and a 128-id one)
        var error = Assert.Throws<SkimFormatException>(() => encoder.CheckTokenizer(30522, "tok/vocab.txt"));
        encoder.CheckTokenizer(128, "tok/vocab.txt");

        // Then the error names both sizes
        Assert.Contains("30522 ids", error.Message, StringComparison.Ordinal);
        Assert.Contains("128 rows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ids_outside_the_vocabulary_and_sequences_beyond_the_positions_are_refused()
    {
        // Given a model with 128 ids and 64 positions
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path);
        using var encoder = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu" });

        // When an id of 128 or a 65-token sequence is embedded
        var badId = Assert.Throws<SkimException>(() => encoder.EmbedToArray([2, 128], [1, 1], 1, 2));
        var tooLong = Assert.Throws<SkimException>(() => encoder.EmbedToArray(new long[65], Enumerable.Repeat(1L, 65).ToArray(), 1, 65));

        // Then both errors say what is wrong
        Assert.Contains("token id 128", badId.Message, StringComparison.Ordinal);
        Assert.Contains("65 tokens", tooLong.Message, StringComparison.Ordinal);
    }
}
