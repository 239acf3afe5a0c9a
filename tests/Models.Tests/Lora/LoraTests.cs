using System.Text.Json;
using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using Skim.Models.Llama;
using Skim.Models.Lora;
using Skim.Models.Tests.Llama;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Lora;

[Collection(LibTorchCollection.Name)]
public sealed class LoraTests
{
    private static readonly long[] s_ids = [1, 17, 33, 5, 90, 2, 64, 127];

    private static readonly LoraOptions s_options = new() { Rank = 4, Alpha = 8, Dropout = 0.0, TargetModules = LoraOptions.KnownTargets, Seed = 3 };

    [Fact]
    public void Adapters_get_peft_key_names_and_the_base_weights_keep_their_hf_keys()
    {
        // Given a tiny untied model
        using var model = LlamaFixtures.Create();
        var baseKeys = model.state_dict().Keys.ToHashSet();

        // When every known projection is adapted with rank 4
        var adapted = LoraModel.Apply(model, s_options);

        // Then 7 projections per layer plus lm_head are adapted, each adding A (4, in) and B (out, 4) beside the unchanged base keys
        Assert.Equal(2 * 7 + 1, adapted.Count);
        var keys = model.state_dict().ToDictionary(e => e.Key, e => e.Value.shape);
        Assert.Equal(baseKeys.Order(StringComparer.Ordinal), keys.Keys.Where(k => !LoraModel.IsLoraKey(k)).Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 4, 32 }, keys["model.layers.1.self_attn.k_proj.lora_A.weight"]);
        Assert.Equal(new long[] { 16, 4 }, keys["model.layers.1.self_attn.k_proj.lora_B.weight"]);
        Assert.Equal(new long[] { 4, 37 }, keys["model.layers.0.mlp.down_proj.lora_A.weight"]);
        Assert.Equal(new long[] { 128, 4 }, keys["lm_head.lora_B.weight"]);
        Assert.Contains("model.layers.0.self_attn.q_proj", adapted);
    }

    [Fact]
    public void A_fresh_adapter_does_not_change_the_logits()
    {
        // Given a model's logits before adaptation
        using var model = LlamaFixtures.Create(LlamaFixtures.TinyQwen2);
        var before = LlamaFixtures.Logits(model, s_ids, 2);

        // When adapters are added (B starts at zero)
        LoraModel.Apply(model, s_options with { TargetModules = ["q_proj", "v_proj", "down_proj"] });
        var after = LlamaFixtures.Logits(model, s_ids, 2);

        // Then the logits are the same
        LlamaFixtures.AssertClose(before, after, 1e-6, "fresh adapter");
    }

    [Fact]
    public void An_optimizer_step_changes_only_the_adapters()
    {
        // Given an adapted model where only LoRA parameters are trainable
        using var model = LlamaFixtures.Create();
        LoraModel.Apply(model, s_options with { Dropout = 0.1 });
        var trainable = LoraModel.MarkOnlyLoraAsTrainable(model);
        var frozen = Snapshot(model, k => !LoraModel.IsLoraKey(k));
        var adapters = Snapshot(model, LoraModel.IsLoraKey);

        // When one AdamW step is taken on the next-token loss
        model.train();
        using (var scope = NewDisposeScope())
        {
            using var optimizer = optim.AdamW(model.parameters().Where(p => p.requires_grad), lr: 0.01);
            var logits = model.forward(tensor(s_ids, [1, 8])); // (1, 8, V)
            var loss = nn.functional.cross_entropy(logits.narrow(1, 0, 7).reshape(7, 128), tensor(s_ids[1..]));
            loss.backward();
            optimizer.step();
        }

        // Then every base weight is bit-identical, every B moved off zero, and the trainable count is the adapters'
        Assert.Equal(adapters.Values.Sum(v => (long)v.Length), trainable);
        foreach (var (key, values) in Snapshot(model, k => !LoraModel.IsLoraKey(k)))
        {
            Assert.True(frozen[key].SequenceEqual(values), $"{key} changed");
        }
        foreach (var (key, values) in Snapshot(model, k => k.Contains("lora_B", StringComparison.Ordinal)))
        {
            Assert.False(adapters[key].SequenceEqual(values), $"{key} did not change");
        }
    }

    [Fact]
    public void Merged_forward_equals_unmerged_forward_and_a_second_merge_changes_nothing()
    {
        // Given an adapted model with non-zero B matrices
        using var model = LlamaFixtures.Create(LlamaFixtures.TinyQwen2);
        LoraModel.Apply(model, s_options);
        Randomize(model, LoraModel.IsLoraKey);
        var unmerged = LlamaFixtures.Logits(model, s_ids, 2);
        var q = model.named_modules().Single(m => m.name == "model.layers.0.self_attn.q_proj").module as LoraLinear;

        // When the adapters are merged, merged again, and unmerged
        LoraModel.Merge(model);
        var merged = LlamaFixtures.Logits(model, s_ids, 2);
        var weightOnce = q!.Weight.data<float>().ToArray();
        LoraModel.Merge(model);
        var weightTwice = q.Weight.data<float>().ToArray();
        LoraModel.Unmerge(model);
        var restored = LlamaFixtures.Logits(model, s_ids, 2);

        // Then merged and unmerged logits agree, the second merge left the weight alone, and unmerging restores the logits
        Assert.True(q.Merged is false);
        LlamaFixtures.AssertClose(unmerged, merged, 1e-5, "merged vs unmerged");
        Assert.Equal(weightOnce, weightTwice);
        LlamaFixtures.AssertClose(unmerged, restored, 1e-5, "unmerged again");
        using var plain = LlamaFixtures.Create(LlamaFixtures.TinyQwen2);
        Assert.NotEqual(LlamaFixtures.Logits(plain, s_ids, 2), merged);
    }

    [Fact]
    public void A_merged_checkpoint_reloads_as_a_plain_model_with_the_same_outputs()
    {
        // Given an adapted model with non-zero adapters and a folder with tokenizer files
        using var folder = new TempDirectory();
        using var model = LlamaFixtures.Create();
        LoraModel.Apply(model, s_options);
        Randomize(model, LoraModel.IsLoraKey);
        var expected = LlamaFixtures.Logits(model, s_ids, 2);
        Directory.CreateDirectory(folder.File("tok"));
        File.WriteAllText(folder.File("tok/tokenizer.json"), "{}");

        // When the merged checkpoint is saved and loaded back into a plain model
        LoraModel.SaveMerged(model, folder.File("merged"), folder.File("tok"));
        using var reloaded = LlamaForCausalLM.FromPretrained(folder.File("merged"));

        // Then it computes the same logits, holds only base keys, carries the tokenizer, and the adapted model is still unmerged
        LlamaFixtures.AssertClose(expected, LlamaFixtures.Logits(reloaded, s_ids, 2), 1e-5, "reloaded merged checkpoint");
        using var file = SafeTensorsFile.Open(folder.File("merged/model.safetensors"));
        Assert.Equal(reloaded.state_dict().Keys.Order(StringComparer.Ordinal), file.Keys.Order(StringComparer.Ordinal));
        Assert.True(File.Exists(folder.File("merged/tokenizer.json")));
        Assert.All(model.modules().OfType<LoraLinear>(), l => Assert.False(l.Merged));
    }

    [Fact]
    public void An_adapter_saved_in_peft_layout_loads_back_into_a_freshly_adapted_model()
    {
        // Given an adapted model with trained-looking adapters
        using var folder = new TempDirectory();
        using var model = LlamaFixtures.Create(seed: 21);
        var options = s_options with { TargetModules = ["q_proj", "v_proj"] };
        LoraModel.Apply(model, options);
        Randomize(model, LoraModel.IsLoraKey);
        var expected = LlamaFixtures.Logits(model, s_ids, 2);

        // When the adapter alone is saved and loaded into the same base model adapted afresh
        LoraModel.SaveAdapter(model, options, folder.Path, baseModelPath: "base");
        using var other = LlamaFixtures.Create(seed: 21);
        LoraModel.Apply(other, options with { Seed = 99 });
        LoraModel.LoadAdapter(other, folder.Path);

        // Then the logits match, the file has only PEFT-named adapter keys, and the config is PEFT's
        LlamaFixtures.AssertClose(expected, LlamaFixtures.Logits(other, s_ids, 2), 1e-6, "reloaded adapter");
        using var file = SafeTensorsFile.Open(folder.File(LoraModel.AdapterWeightsFileName));
        Assert.Equal(8, file.Count);
        Assert.Contains("base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight", file.Keys);
        Assert.All(file.Keys, k => Assert.StartsWith("base_model.model.model.layers.", k, StringComparison.Ordinal));
        using var config = JsonDocument.Parse(File.ReadAllText(folder.File(LoraModel.AdapterConfigFileName)));
        Assert.Equal("LORA", config.RootElement.GetProperty("peft_type").GetString());
        Assert.Equal(4, config.RootElement.GetProperty("r").GetInt32());
        Assert.Equal(8, config.RootElement.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(["q_proj", "v_proj"], config.RootElement.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void An_adapter_whose_shapes_do_not_fit_is_refused_with_every_problem_listed()
    {
        // Given an adapter of rank 4 on q/v
        using var folder = new TempDirectory();
        using var model = LlamaFixtures.Create();
        LoraModel.Apply(model, s_options with { TargetModules = ["q_proj", "v_proj"] });
        LoraModel.SaveAdapter(model, s_options, folder.Path);

        // When it is loaded into a model adapted with rank 2 on q/k
        using var other = LlamaFixtures.Create();
        LoraModel.Apply(other, s_options with { Rank = 2, TargetModules = ["q_proj", "k_proj"] });
        var error = Assert.Throws<SkimFormatException>(() => LoraModel.LoadAdapter(other, folder.Path));

        // Then one error names missing k_proj keys, unexpected v_proj keys and q_proj shape mismatches
        Assert.Contains("k_proj.lora_A.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("v_proj.lora_B.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("q_proj.lora_A.weight (expected [2, 32], found [4, 32])", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_lm_head_of_a_tied_model_is_refused_as_a_target()
    {
        // Given a model with tied embeddings
        using var model = LlamaFixtures.Create(LlamaFixtures.TinyTied);

        // When lm_head is targeted
        var error = Assert.Throws<SkimConfigException>(() => LoraModel.Apply(model, s_options));

        // Then the error names lm_head and the tie
        Assert.Contains("lm_head", error.Message, StringComparison.Ordinal);
        Assert.Contains("tie_word_embeddings", error.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, float[]> Snapshot(LlamaForCausalLM model, Func<string, bool> keep) =>
        model.state_dict().Where(e => keep(e.Key)).ToDictionary(e => e.Key, e => e.Value.data<float>().ToArray());

    private static void Randomize(LlamaForCausalLM model, Func<string, bool> keep)
    {
        using var generator = new Generator(5);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters().Where(p => keep(p.name)))
        {
            using var noise = randn(parameter.shape, generator: generator);
            using var scaled = noise * 0.2;
            parameter.copy_(scaled);
        }
    }
}
