using Skim.Models.Encoders;
using Skim.Models.Tests.Encoders;

namespace Skim.Models.Tests.Weights;

[Collection(LibTorchCollection.Name)]
public sealed class NgameStateDictTests
{
    // Saves the DistilBERT of MODEL/model.safetensors the way SKIM's step-2 SiameseNetwork state dict
    // holds it (ngame_state_dict.pt), including the position_ids buffer older transformers persisted.
    private const string SaveAsNgame = """
        import collections, sys, torch
        sys.path.insert(0, sys.argv[1])
        import encoder_reference as r
        weights = r.read_safetensors(sys.argv[2])
        prefix = "encoder.encoder.transformer.0.auto_model."
        state = collections.OrderedDict((prefix + k, v) for k, v in weights.items())
        state[prefix + "embeddings.position_ids"] = torch.arange(64).unsqueeze(0)
        torch.save(state, sys.argv[3])
        """;

    [SkippableFact]
    public void An_ngame_state_dict_saved_by_pytorch_embeds_like_the_same_weights_in_safetensors()
    {
        // Given a tiny DistilBERT folder and the same weights saved by torch.save under SKIM's SiameseNetwork keys
        PythonReference.Require("torch", "numpy");
        using var folder = new TempDirectory();
        EncoderFixtures.WriteDistilBert(folder.Path, seed: 21);
        var statePath = folder.File("ngame_state_dict.pt");
        PythonReference.RunCode(SaveAsNgame, Path.GetDirectoryName(PythonReference.Script("encoder_reference.py"))!, folder.File("model.safetensors"), statePath);
        var (ids, mask, rows, width) = EncoderFixtures.PaddedBatch();

        // When both are loaded and embed the same batch
        using var fromSafeTensors = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu", Normalize = true });
        using var fromNgame = TextEncoder.Load(folder.Path, new TextEncoderOptions { Device = "cpu", Normalize = true, WeightsPath = statePath });

        // Then the embeddings are identical and the stale buffer was reported as ignored
        Assert.Equal(fromSafeTensors.EmbedToArray(ids, mask, rows, width), fromNgame.EmbedToArray(ids, mask, rows, width));
        Assert.Equal(["encoder.encoder.transformer.0.auto_model.embeddings.position_ids"], fromNgame.IgnoredKeys);
    }
}
