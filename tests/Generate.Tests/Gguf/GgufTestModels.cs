using System.Text.Json.Nodes;
using Skim.Core.Formats.SafeTensors;
using Skim.Models.Llama;
using Skim.Models.ModelFactory;
using Skim.Models.Weights;

namespace Skim.Generate.Tests.Gguf;

/// <summary>
/// Tiny decoders made by <see cref="ModelInitializer"/> for the GGUF and llama.cpp tests. Random
/// initial weights give near-flat logits (their top two differ by about 1e-2, while two engines' sums
/// differ by about 1e-6); the output matrix is multiplied by <see cref="LogitScale"/> so that every
/// greedy choice has a clear winner and parity checks test the layouts, not rounding.
/// </summary>
internal static class GgufTestModels
{
    public const float LogitScale = 20f;

    /// <summary>The texts tokenizations are compared on: accents, emoji, code, runs of spaces, digits, newlines.</summary>
    public static readonly string[] Texts =
    [
        "Hello world",
        "Café déjà vu — naïve façade, Ångström",
        "emoji 😀🎉 and 🇫🇷 flags",
        "def f(x):\n    return x ** 2  # square\n",
        "  multiple   spaces\tand\ttabs\n\n\nnewlines  ",
        "numbers 12345 and 3.14159, don't we'll they're",
        "数字と日本語のテキスト",
        "list files and print matching lines",
    ];

    private static readonly string[] s_corpus =
    [
        "page 1: list files and print matching lines",
        "Café déjà vu, naïve façade; Ångström units",
        "def f(x):\n    return x ** 2",
        "for i in range(10): print(i)",
        "the quick brown fox jumps over the lazy dog",
        "emoji 😀 and 🎉 in text",
        "numbers 12345 and 3.14159",
        "don't we'll they're I'm",
    ];

    /// <summary>Creates a model of <paramref name="architecture"/> with a trained byte-level BPE vocabulary.</summary>
    /// <param name="root">The folder to create it in.</param>
    /// <param name="architecture">llama, qwen2 or mistral.</param>
    /// <param name="tied">Whether to rewrite it with tied input/output embeddings.</param>
    /// <param name="tokenizer">A tokenizer folder to copy instead of training one.</param>
    /// <param name="name">The folder name; defaults to one made of the other arguments.</param>
    public static string Create(string root, string architecture, bool tied = false, string? tokenizer = null, string? name = null)
    {
        name ??= $"{architecture}{(tied ? "-tied" : "")}{(tokenizer is null ? "" : "-copied")}";
        var corpus = Path.Combine(root, "corpus.txt");
        if (!File.Exists(corpus))
        {
            File.WriteAllLines(corpus, Enumerable.Range(0, 60).Select(i => s_corpus[i % s_corpus.Length]));
        }
        var output = Path.Combine(root, name);
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = architecture,
            Preset = "tiny",
            Tokenizer = tokenizer ?? ModelInitOptions.TrainPrefix + corpus,
            OutputDirectory = output,
            VocabSize = tokenizer is null ? 320 : null,
            Seed = 11,
        });
        Rewrite(output, tied);
        return output;
    }

    /// <summary>
    /// Creates a tiny Llama whose MLP is 64 wide instead of the preset's 37, so that every row splits
    /// into q8_0/q4_0 blocks of 32 (the tiny preset's 37 is chosen to catch size mix-ups).
    /// </summary>
    public static string CreateWide(string root)
    {
        var folder = Create(root, "llama", tokenizer: null, tied: false, name: "llama-wide");
        var config = LlamaConfig.Read(Path.Combine(folder, "config.json")) with { IntermediateSize = 64 };
        using (var model = new LlamaForCausalLM(config))
        {
            HfInitialization.Apply(model, config.InitializerRange, 12, "model.embed_tokens.weight", config.PadTokenId);
            WeightSaver.SavePretrained(model, config, folder, TensorDType.Float32);
        }
        Rewrite(folder, tied: false);
        return folder;
    }

    /// <summary>The fixture SentencePiece tokenizer (Llama-2's configuration, 512 pieces).</summary>
    public static string SentencePieceFixture =>
        Path.Combine(PythonReference.RepositoryRoot, "tests", "Models.Tests", "Fixtures", "tokenizers", "tiny-sentencepiece");

    // Scales the logits and, for a tied model, stores only the embeddings and says so in config.json.
    // A tied random model's hidden state is mostly its input embedding, whose logit against itself
    // dwarfs all others, so it repeats its last token forever; scaling the attention and MLP outputs
    // lets the blocks change the prediction, and the final norm's gain then widens the margins.
    private static void Rewrite(string folder, bool tied)
    {
        var path = Path.Combine(folder, "model.safetensors");
        List<RawTensor> tensors;
        using (var file = SafeTensorsFile.Open(path))
        {
            tensors = [.. file.Values.Select(t => t.ToDType(t.DType))];
        }
        bool Scaled(string name) => tied
            ? name == "model.norm.weight" || name.EndsWith("o_proj.weight", StringComparison.Ordinal) || name.EndsWith("down_proj.weight", StringComparison.Ordinal)
            : name == "lm_head.weight";
        tensors = [.. tensors
            .Where(t => !(tied && t.Name == "lm_head.weight"))
            .Select(t => Scaled(t.Name) ? RawTensor.FromFloat32(t.Name, t.Shape, t.ToFloat32Array().Select(v => v * LogitScale).ToArray()) : t)];
        SafeTensorsWriter.Write(path, tensors);
        if (tied)
        {
            var configPath = Path.Combine(folder, "config.json");
            var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
            config["tie_word_embeddings"] = true;
            File.WriteAllText(configPath, config.ToJsonString());
        }
    }
}

/// <summary>One set of tiny models per test class: created on first use, deleted with the fixture.</summary>
public sealed class TinyModelsFixture : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly Dictionary<string, string> _models = [];
    private readonly Lock _lock = new();

    /// <summary>Gets the folder of the model named by <paramref name="architecture"/> and the flags, creating it once.</summary>
    public string Get(string architecture, bool tied = false, bool sentencePiece = false, bool wide = false)
    {
        var key = $"{architecture}/{tied}/{sentencePiece}/{wide}";
        lock (_lock)
        {
            if (!_models.TryGetValue(key, out var folder))
            {
                folder = wide
                    ? GgufTestModels.CreateWide(_dir.Path)
                    : GgufTestModels.Create(_dir.Path, architecture, tied, sentencePiece ? GgufTestModels.SentencePieceFixture : null);
                _models[key] = folder;
            }
            return folder;
        }
    }

    /// <summary>Gets a scratch path inside the fixture's folder.</summary>
    public string File(string name) => _dir.File(name);

    public void Dispose() => _dir.Dispose();
}
