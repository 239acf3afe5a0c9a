using Skim.Models.Llama;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Llama;

[Collection(LibTorchCollection.Name)]
public sealed class LlamaForCausalLMTests
{
    [Fact]
    public void State_dict_keys_and_shapes_match_hugging_face_names_for_llama_with_gqa()
    {
        // Given a tiny Llama with 4 query heads, 2 key/value heads and a 37-wide MLP
        using var model = new LlamaForCausalLM(LlamaConfig.Tiny);

        // When its state dict is listed
        var keys = model.state_dict().ToDictionary(e => e.Key, e => e.Value.shape);

        // Then every key is an HF key with the HF shape, and nothing else is there
        var expected = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = [128, 32],
            ["model.norm.weight"] = [32],
            ["lm_head.weight"] = [128, 32],
        };
        for (var i = 0; i < 2; i++)
        {
            var p = $"model.layers.{i}.";
            expected[p + "self_attn.q_proj.weight"] = [32, 32];
            expected[p + "self_attn.k_proj.weight"] = [16, 32];
            expected[p + "self_attn.v_proj.weight"] = [16, 32];
            expected[p + "self_attn.o_proj.weight"] = [32, 32];
            expected[p + "mlp.gate_proj.weight"] = [37, 32];
            expected[p + "mlp.up_proj.weight"] = [37, 32];
            expected[p + "mlp.down_proj.weight"] = [32, 37];
            expected[p + "input_layernorm.weight"] = [32];
            expected[p + "post_attention_layernorm.weight"] = [32];
        }
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), keys.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, shape) in expected)
        {
            Assert.True(shape.SequenceEqual(keys[key]), $"{key}: expected [{string.Join(", ", shape)}], found [{string.Join(", ", keys[key])}]");
        }
    }

    [Fact]
    public void Qwen2_has_q_k_v_biases_but_no_o_proj_bias()
    {
        // Given a tiny Qwen2
        using var model = new LlamaForCausalLM(LlamaFixtures.TinyQwen2);

        // When its bias keys are listed
        var biases = model.state_dict().Keys.Where(k => k.EndsWith(".bias", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

        // Then exactly q/k/v of each layer have one
        Assert.Equal(
            [
                "model.layers.0.self_attn.k_proj.bias", "model.layers.0.self_attn.q_proj.bias", "model.layers.0.self_attn.v_proj.bias",
                "model.layers.1.self_attn.k_proj.bias", "model.layers.1.self_attn.q_proj.bias", "model.layers.1.self_attn.v_proj.bias",
            ],
            biases);
    }

    [Fact]
    public void Tied_embeddings_have_no_lm_head_key_and_the_logits_use_the_embedding_matrix()
    {
        // Given a tied model and one hidden-state-probing input
        using var model = LlamaFixtures.Create(LlamaFixtures.TinyTied);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        // When the logits are computed, and the final hidden states are multiplied by the embeddings by hand
        using var ids = tensor(new long[] { 3, 14, 15, 92 }, [1, 4]);
        using var logits = model.forward(ids);
        using var hidden = model.Model.forward(ids);
        using var byHand = hidden.matmul(model.Model.EmbedTokens.weight!.t()); // (1, 4, V)

        // Then there is no lm_head key and both agree
        Assert.DoesNotContain("lm_head.weight", model.state_dict().Keys);
        LlamaFixtures.AssertClose(byHand.data<float>().ToArray(), logits.data<float>().ToArray(), 1e-5, "tied logits");
    }

    [Fact]
    public void The_last_position_option_returns_the_last_row_of_the_full_logits()
    {
        // Given a tiny model and a batch of two sequences
        using var model = LlamaFixtures.Create();
        var ids = new long[] { 5, 6, 7, 8, 9, 10, 11, 12 };

        // When the full logits and the last-position logits are computed
        var full = LlamaFixtures.Logits(model, ids, 2);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var last = model.forward(tensor(ids, [2, 4]), lastPositionOnly: true);

        // Then the shapes are (2, 4, V) and (2, 1, V) and the last rows agree
        Assert.Equal(2 * 4 * 128, full.Length);
        Assert.Equal(new long[] { 2, 1, 128 }, last.shape);
        var values = last.data<float>().ToArray();
        LlamaFixtures.AssertClose(full.AsSpan(3 * 128, 128), values.AsSpan(0, 128), 1e-6, "row 0");
        LlamaFixtures.AssertClose(full.AsSpan(7 * 128, 128), values.AsSpan(128, 128), 1e-6, "row 1");
    }

    [Fact]
    public void The_logits_depend_only_on_earlier_tokens()
    {
        // Given two sequences that differ only in their last token
        using var model = LlamaFixtures.Create();

        // When both are run
        var a = LlamaFixtures.Logits(model, [1, 2, 3, 4], 1);
        var b = LlamaFixtures.Logits(model, [1, 2, 3, 99], 1);

        // Then the first three positions agree and the last differs
        LlamaFixtures.AssertClose(a.AsSpan(0, 3 * 128), b.AsSpan(0, 3 * 128), 1e-6, "causal prefix");
        Assert.NotEqual(a[3 * 128], b[3 * 128]);
    }

    [Fact]
    public void The_lm_head_gives_the_same_logits_for_many_rows_as_for_few()
    {
        // Given a tiny untied model and 80 one-token sequences (more rows than the few-row product takes)
        using var model = LlamaFixtures.Create();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var ids = arange(80, ScalarType.Int64).remainder(128).view(80, 1);

        // When all 80 run at once (nn.Linear's product) and the first 8 run alone (W · hᵀ)
        using var many = model.forward(ids);
        using var firstIds = ids.narrow(0, 0, 8);
        using var few = model.forward(firstIds);

        // Then the first 8 rows agree
        using var manyFirst = many.narrow(0, 0, 8).contiguous();
        LlamaFixtures.AssertClose(manyFirst.data<float>().ToArray(), few.data<float>().ToArray(), 1e-5, "lm head rows");
    }

    [Fact]
    public void A_forward_pass_with_a_cache_leaves_no_tensor_alive_but_its_logits()
    {
        // Given a tiny model, a padded batch and a cache that already holds its buffers
        using var model = LlamaFixtures.Create();
        using var noGrad = no_grad();
        using var ids = tensor(new long[] { 0, 5, 6, 7, 8, 9 }, [2, 3]);
        using var mask = tensor(new long[] { 0, 1, 1, 1, 1, 1 }, [2, 3]);
        using var cache = model.CreateCache(16);
        model.forward(ids, mask, cache, lastPositionOnly: true).Dispose();
        using var next = tensor(new long[] { 10, 11 }, [2, 1]);
        using var longer = tensor(new long[] { 0, 1, 1, 1, 1, 1, 1, 1 }, [2, 4]);
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        // When one more step runs and its logits are disposed
        model.forward(next, longer, cache, lastPositionOnly: true).Dispose();

        // Then every intermediate (views and casts included) was freed inside the pass, not left to the
        // garbage collector: a pass that keeps them holds every layer's activations at once
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("tied")]
    public void A_saved_checkpoint_loads_back_with_every_parameter_equal_and_on_the_cpu(string architecture)
    {
        // Given a tiny random model of each kind saved in HF's layout
        var config = architecture switch
        {
            "qwen2" => LlamaFixtures.TinyQwen2,
            "tied" => LlamaFixtures.TinyTied,
            _ => LlamaConfig.Tiny,
        };
        using var dir = new TempDirectory();
        using var saved = LlamaFixtures.Create(config);
        saved.SavePretrained(dir.Path);

        // When it is loaded (built on the meta device, given empty memory, filled by the strict load)
        using var loaded = LlamaForCausalLM.FromPretrained(dir.Path);

        // Then every parameter, norms and biases included, is on the CPU and equals the saved one bit for bit
        var expected = saved.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var actual = loaded.named_parameters().ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Select(p => p.name).Order(StringComparer.Ordinal));
        Assert.All(actual, p =>
        {
            Assert.Equal(TorchSharp.DeviceType.CPU, p.parameter.device_type);
            Assert.True(p.parameter.allclose(expected[p.name], rtol: 0, atol: 0), $"{p.name} differs after loading");
        });
    }
}
