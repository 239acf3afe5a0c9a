using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Distill.FineTuning;
using Skim.Models.ModelFactory;

namespace Skim.Distill.Tests.FineTuning;

/// <summary>
/// A tiny random Llama (2 layers, hidden 32, a byte-level BPE vocabulary trained on the pairs) and a
/// synthetic SFT set whose response depends on the prompt: the item's category picks one of four
/// responses ("Item: tiger / Category: fruit" → " fresh juicy deals"), a pattern a
/// 2-layer model learns within tens of steps.
/// Built once per test class: training the tokenizer is the slow part.
/// </summary>
public sealed class SftFixture : IDisposable
{
    public static readonly string[] Words =
    [
        "apple", "river", "stone", "cloud", "tiger", "maple", "ocean", "pixel", "candle", "garden",
        "silver", "rocket", "violin", "meadow", "harbor", "lemon", "falcon", "canyon", "pepper", "forest",
        "marble", "island", "copper", "dragon", "velvet", "winter", "summer", "planet", "cotton", "thunder",
        "willow", "anchor", "bamboo", "crystal", "desert", "ember", "feather", "glacier", "hazel", "jungle",
        "kettle", "lantern", "mirror", "nectar", "orchid", "pebble", "quartz", "saddle", "tulip", "walnut",
    ];

    private readonly TempDirectory _dir = new();

    public SftFixture()
    {
        // One thread: the runs are tiny, and CI's two cores are shared with other test processes.
        TorchSharp.torch.set_num_threads(1);
        Directory.CreateDirectory(SftDirectory);
        WriteSft(SftDirectory, Words[..40], Words[40..]);
        var corpus = _dir.File("corpus.txt");
        File.WriteAllLines(corpus, Enumerable.Range(0, 8).SelectMany(_ => Words.Select(w => Prompt(w) + Response(w))));
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = "llama",
            Preset = "tiny",
            Tokenizer = ModelInitOptions.TrainPrefix + corpus,
            OutputDirectory = BaseModel,
            VocabSize = 600,
            Seed = 7,
        });
    }

    public string Root => _dir.Path;

    public string SftDirectory => _dir.File("sft");

    public string BaseModel => _dir.File("base");

    public static readonly string[] Categories = ["fruit", "tool", "animal", "color"];

    public static readonly string[] Responses = [" fresh juicy deals", " strong steel sale", " cute plush toys", " bright glossy paint"];

    public static string Category(string word) => Categories[Array.IndexOf(Words, word) % Categories.Length];

    public static string Prompt(string word) => $"Write a search query for the item.\nItem: {word}\nCategory: {Category(word)}";

    public static string Response(string word) => Responses[Array.IndexOf(Words, word) % Categories.Length];

    public static void WriteSft(string folder, IEnumerable<string> train, IEnumerable<string> validation)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "train.json"), Json(train));
        File.WriteAllText(Path.Combine(folder, "val.json"), Json(validation));
    }

    /// <summary>Options that train the tiny model in seconds, LoRA on every projection and the head: 150 steps (30 epochs of 5: 40 pairs in batches of 8).</summary>
    public FineTuneOptions Options(string output) => new()
    {
        SftDirectory = SftDirectory,
        BaseModelDirectory = BaseModel,
        OutputDirectory = Path.Combine(Root, output),
        MicroBatchSize = 8,
        GlobalBatchSize = 8,
        Epochs = 30,
        LearningRate = 1e-2,
        MinLearningRate = 1e-3,
        WarmupSteps = 4,
        LoraRank = 8,
        LoraAlpha = 16,
        LoraDropout = 0.05,
        // The head is adapted too (the paper's targets): the random base head's weights are too
        // small (std 0.02) for any hidden state to give confident logits through it.
        LoraTargets = [.. Skim.Models.Lora.LoraOptions.KnownTargets],
        EvalEverySteps = 10,
        CheckpointEverySteps = 10,
        Seed = 11,
        Device = "cpu",
    };

    public void Dispose() => _dir.Dispose();

    private static string Json(IEnumerable<string> words) =>
        new JsonArray([.. words.Select(w => (JsonNode)new JsonObject
        {
            ["instruction"] = Prompt(w),
            ["input"] = "",
            ["output"] = Response(w),
        })]).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FineTuneCollection : ICollectionFixture<SftFixture>
{
    public const string Name = "fine-tuning libtorch";
}

// Progress<T> posts to the thread pool; tests need the reports at once and in order.
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
