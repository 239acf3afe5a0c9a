using System.Runtime.CompilerServices;
using Skim.Models.Devices;
using Skim.Models.Llama;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Models.Tests.KeyLayouts;

/// <summary>
/// Full-size decoder presets built on the meta device must have exactly the keys and shapes of the
/// real checkpoints (tests/Models.Tests/Approved/Decoders/*.approved.txt; the README there says
/// where each list comes from), and the lists themselves must add up to the published parameter counts.
/// </summary>
[Collection(LibTorchCollection.Name)]
public sealed class DecoderKeyLayoutTests
{
    // Older transformers saved each layer's rotary table as a persistent buffer; Llama-2-7b-hf's
    // checkpoint still holds these 32 keys. They carry no learned values (HF recomputes them and
    // lists them in _keys_to_ignore_on_load_unexpected), so they are not part of the module layout.
    private const string RotaryBufferSuffix = ".self_attn.rotary_emb.inv_freq";

    public static TheoryData<string, string, long> Presets => new()
    {
        { "Llama-2-7b-hf", "Llama-2-7b-hf.approved.txt", 6_738_415_616 },
        { "Qwen2-0.5B", "Qwen2-0.5B.approved.txt", 494_032_768 },
        { "SmolLM-135M", "SmolLM-135M.approved.txt", 134_515_008 },
    };

    [Theory]
    [MemberData(nameof(Presets))]
    public void Full_size_presets_have_the_checkpoint_keys_and_shapes(string preset, string approved, long published)
    {
        // Given the preset built without allocating weights
        using var model = new LlamaForCausalLM(Config(preset), device: TorchDevices.Meta);

        // When its sorted "key [shape]" list is compared with the checkpoint's, rotary buffers aside
        var expected = ApprovedLines(approved).Where(l => !Key(l).EndsWith(RotaryBufferSuffix, StringComparison.Ordinal)).ToList();
        var actual = model.state_dict()
            .Select(e => $"{e.Key} {WeightLoader.ShapeText(e.Value.shape)}")
            .Order(StringComparer.Ordinal)
            .ToList();

        // Then the lists are equal, nothing was allocated, and the parameters add up to the published count
        Assert.Equal(expected, actual);
        Assert.All(model.state_dict().Values, t => Assert.Equal(TorchSharp.DeviceType.META, t.device_type));
        Assert.Equal(published, model.parameters().Sum(p => p.numel()));
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void The_approved_lists_add_up_to_the_published_parameter_counts(string preset, string approved, long published)
    {
        // Given a committed list (independent of the module code)
        var lines = ApprovedLines(approved);

        // When the elements of its learned tensors are summed
        var total = lines
            .Where(l => !Key(l).EndsWith(RotaryBufferSuffix, StringComparison.Ordinal))
            .Sum(l => Shape(l).Aggregate(1L, (a, b) => a * b));

        // Then the total is the model card's count, and the list is sorted without duplicates
        Assert.True(published == total, $"{preset}: the list sums to {total:N0}, the model card says {published:N0}");
        Assert.Equal(lines.Order(StringComparer.Ordinal), lines);
        Assert.Equal(lines.Count, lines.Select(Key).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Llama_2_7b_hf_lists_a_rotary_buffer_per_layer_as_its_published_index_size_implies()
    {
        // Given the Llama-2-7b-hf list
        var lines = ApprovedLines("Llama-2-7b-hf.approved.txt");

        // When its rotary buffers are counted
        var buffers = lines.Where(l => Key(l).EndsWith(RotaryBufferSuffix, StringComparison.Ordinal)).ToList();

        // Then there are 32 of [64] float32 values: 8,192 bytes, the difference between the index's
        // total_size 13,476,839,424 and 2 bytes × 6,738,415,616 parameters
        Assert.Equal(32, buffers.Count);
        Assert.All(buffers, l => Assert.Equal([64L], Shape(l)));
        Assert.Equal(13_476_839_424 - 2 * 6_738_415_616, buffers.Count * 64 * 4);
    }

    private static LlamaConfig Config(string preset) => preset switch
    {
        "Llama-2-7b-hf" => LlamaConfig.Llama2_7B,
        "Qwen2-0.5B" => LlamaConfig.Qwen2_0_5B,
        "SmolLM-135M" => LlamaConfig.SmolLM135M,
        _ => throw new ArgumentOutOfRangeException(nameof(preset), preset, "no such preset"),
    };

    private static string Key(string line) => line[..line.IndexOf(' ', StringComparison.Ordinal)];

    private static long[] Shape(string line) =>
        [.. line[(line.IndexOf('[', StringComparison.Ordinal) + 1)..^1].Split(", ").Select(long.Parse)];

    private static List<string> ApprovedLines(string name) =>
        [.. File.ReadAllLines(Path.Combine(ApprovedFolder(), name)).Where(l => l.Length > 0)];

    // The lists are found from this source file's recorded path, so out-of-tree builds find them too.
    private static string ApprovedFolder([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "Approved", "Decoders"));
}
