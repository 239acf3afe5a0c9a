using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Models.Weights;

namespace Skim.Models.Tests.Weights;

public sealed class HfKeyMapTests
{
    private static RawTensor One(string name) => RawTensor.FromFloat32(name, [1], [1f]);

    private static Dictionary<string, RawTensor> Checkpoint(params string[] keys) => keys.ToDictionary(k => k, One);

    [Fact]
    public void Skim_ngame_state_dict_keys_map_onto_distilbert_keys()
    {
        // Given keys as SKIM's step-2 SiameseNetwork saves them (ngame_state_dict.pt)
        var weights = Checkpoint(
            "encoder.encoder.transformer.0.auto_model.embeddings.word_embeddings.weight",
            "encoder.encoder.transformer.0.auto_model.embeddings.position_ids",
            "encoder.encoder.transformer.0.auto_model.transformer.layer.5.ffn.lin2.bias");

        // When they are mapped for a DistilBERT
        var mapped = HfKeyMap.MapEncoder(weights, "distilbert", "ngame_state_dict.pt");

        // Then the wrapper prefix is gone and the stale position_ids buffer is reported as ignored
        Assert.Equal(["embeddings.word_embeddings.weight", "transformer.layer.5.ffn.lin2.bias"], mapped.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["encoder.encoder.transformer.0.auto_model.embeddings.position_ids"], mapped.Ignored);
    }

    [Fact]
    public void Ngame_network_keys_keep_the_document_tower_and_ignore_the_shared_label_tower()
    {
        // Given keys of NGAME's SiameseXMLIS state dict, where encoder_lbl is the same module as encoder
        var weights = Checkpoint(
            "encoder.transform.transform.0.auto_model.embeddings.LayerNorm.weight",
            "encoder_lbl.transform.transform.0.auto_model.embeddings.LayerNorm.weight");

        // When they are mapped
        var mapped = HfKeyMap.MapEncoder(weights, "distilbert", "model_network.pkl");

        // Then only the document tower remains
        Assert.Equal(["embeddings.LayerNorm.weight"], mapped.Tensors.Keys);
        Assert.Equal(["encoder_lbl.transform.transform.0.auto_model.embeddings.LayerNorm.weight"], mapped.Ignored);
    }

    [Fact]
    public void A_bert_pretraining_checkpoint_loses_its_prefix_heads_and_gamma_beta_names()
    {
        // Given keys as the original bert-base-uncased checkpoint names them
        var weights = Checkpoint(
            "bert.embeddings.LayerNorm.gamma",
            "bert.embeddings.LayerNorm.beta",
            "bert.encoder.layer.0.attention.self.query.weight",
            "bert.pooler.dense.weight",
            "cls.predictions.bias",
            "cls.seq_relationship.weight");

        // When they are mapped for a BERT
        var mapped = HfKeyMap.MapEncoder(weights, "bert", "bert.safetensors");

        // Then base keys are renamed and the heads are ignored
        Assert.Equal(
            ["embeddings.LayerNorm.bias", "embeddings.LayerNorm.weight", "encoder.layer.0.attention.self.query.weight", "pooler.dense.weight"],
            mapped.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["cls.predictions.bias", "cls.seq_relationship.weight"], mapped.Ignored);
    }

    [Fact]
    public void Two_checkpoint_keys_that_map_to_one_module_key_are_refused()
    {
        // Given an old and a new spelling of the same LayerNorm weight
        var weights = Checkpoint("embeddings.LayerNorm.gamma", "embeddings.LayerNorm.weight");

        // When they are mapped
        var error = Assert.Throws<SkimFormatException>(() => HfKeyMap.MapEncoder(weights, "bert", "both.safetensors"));

        // Then the error names the collision
        Assert.Contains("maps to 'embeddings.LayerNorm.weight'", error.Message, StringComparison.Ordinal);
    }
}
