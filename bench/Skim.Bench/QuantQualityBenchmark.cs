using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Skim.Core.Datasets;
using Skim.Core.Formats.SafeTensors;
using Skim.Distill.FineTuning;
using Skim.Distill.Items;
using Skim.Generate.Gguf;
using Skim.Models.Devices;
using Skim.Models.Llama;
using Skim.Models.ModelFactory;
using Skim.Models.Tokenization;
using Skim.Models.Vocabulary;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Bench;

/// <summary>
/// Issue 8's note on quantisation: how far llama.cpp's q8_0, q4_0 and q4_k_m move a model's
/// next-token distributions from its f32 GGUF export. Random weights give near-flat logits, where
/// any change flips the top token, so a tiny Llama (4 layers, width 256, MLP 768: every row splits
/// into q8_0/q4_0 blocks of 32 and k-quant blocks of 256) is first fully fine-tuned for a few
/// hundred steps with <see cref="FineTuner"/> on an SFT set built from the demo dataset (a label's
/// title → its known queries, a query → its pages' titles). On held-out pairs of the same kind, every position's distribution of
/// each quantised export is compared with the f32 export's (both through LLamaSharp, on the same
/// token ids): top-1 agreement and mean KL(f32 ‖ quantised). The f32 export against TorchSharp's
/// own forward pass is the sanity row: it should agree everywhere with a KL near rounding.
/// </summary>
public sealed class QuantQualityBenchmark : IBenchScenario
{
    private const int MaxLength = 64;

    private static readonly string[] s_types = ["f32", "q8_0", "q4_0", "q4_k_m"];

    private static int Steps => BenchOptions.Quick ? 40 : 300;

    private static int EvalTexts => BenchOptions.Quick ? 16 : 64;

    /// <inheritdoc />
    public string Name => "quant-quality";

    /// <inheritdoc />
    public string Description => "GGUF q8_0/q4_0/q4_k_m vs f32 on a briefly fine-tuned tiny Llama: next-token top-1 agreement and KL (LLamaSharp); f32 GGUF vs TorchSharp";

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var root = Path.Combine(workDirectory, "quant-quality");
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
        Directory.CreateDirectory(root);
        QuantLogits.LoadNativeLibrary();
        var threads = get_num_threads();

        // SFT pairs from the demo dataset: a page title → the queries already known to reach it, and
        // a query → the titles of the pages it reaches.
        var demo = Path.GetFullPath(Path.Combine(BenchPython.ReferenceDirectory, "..", "..", "artifacts", "datasets", "demo"));
        var dataset = XcDataset.Open(demo);
        var known = new PromptItemsOptions { MaxKnownQueries = 2 };
        var random = new Random(5);
        var records = PromptItems.FromDataset(dataset, MappingOrientation.QuerySide, known)
            .Select(i => (Item: i, Instruction: $"Search queries for the page \"{i.Fields[PromptItems.TitleField]}\":"))
            .Concat(PromptItems.FromDataset(dataset, MappingOrientation.LabelSide, known).Select(i => (Item: i, Instruction: $"Pages for the search \"{i.Fields[PromptItems.TitleField]}\":")))
            .Where(p => p.Item.Fields[PromptItems.KnownQueriesField].Length > 0)
            .Select(p => new SftRecord(p.Instruction, "", p.Item.Fields[PromptItems.KnownQueriesField]))
            .OrderBy(_ => random.Next())
            .ToList();
        var held = records.Take(EvalTexts).ToList();
        var validation = records.Skip(EvalTexts).Take(48).ToList();
        var train = records.Skip(EvalTexts + 48).ToList();

        var baseDirectory = Path.Combine(root, "base");
        var tokenizer = CreateBaseModel(baseDirectory, records);
        var sft = Path.Combine(root, "sft");
        Directory.CreateDirectory(sft);
        WriteSft(Path.Combine(sft, "train.json"), train);
        WriteSft(Path.Combine(sft, "val.json"), validation);

        var tuned = Path.Combine(root, "tuned");
        var clock = Stopwatch.StartNew();
        var result = await FineTuner.RunAsync(new FineTuneOptions
        {
            SftDirectory = sft,
            BaseModelDirectory = baseDirectory,
            OutputDirectory = tuned,
            Method = FineTuneMethod.Full,
            Epochs = 100,
            MaxSteps = Steps,
            MicroBatchSize = 8,
            GlobalBatchSize = 8,
            LearningRate = 2e-3,
            MinLearningRate = 2e-4,
            WarmupSteps = Math.Min(30, Steps / 5),
            WeightDecay = 0.0,
            MaxSequenceLength = MaxLength,
            EvalEverySteps = Steps,
            CheckpointEverySteps = 0,
            Device = "cpu",
            Seed = 1,
        }, null, ct).ConfigureAwait(false);
        var trainSeconds = clock.Elapsed.TotalSeconds;

        var exports = new Dictionary<string, GgufExportResult>();
        foreach (var type in s_types)
        {
            exports[type] = GgufExport.Export(tuned, Path.Combine(root, $"tuned-{type}.gguf"), GgufTypes.Parse(type), ct);
        }

        // The held-out pairs as the model was trained on them: BOS + prompt, then response + EOS.
        var eos = tokenizer.Special.Eos ?? throw new InvalidOperationException("the tokenizer has no EOS");
        var sequences = held
            .Select(r => tokenizer.Encode(r.Prompt, addSpecialTokens: true).Concat(tokenizer.EncodeWithoutSpecialTokens(r.Output)).Append(eos).Take(MaxLength).ToArray())
            .ToList();

        var torchLogits = TorchLogits(tuned, sequences);
        var gguf = new Dictionary<string, List<float[][]>>();
        foreach (var type in s_types)
        {
            using var engine = new QuantLogits(exports[type].Path, threads, MaxLength);
            gguf[type] = [.. sequences.Select(engine.Logits)];
        }

        output.WriteLine(Invariant($"Model: Llama, 4 layers, width 256, MLP 768, 8 heads / 4 key-value heads, vocabulary {tokenizer.VocabularySize} (byte-level BPE trained on the SFT texts); fully fine-tuned for {result.Steps} steps of 8 pairs ({result.TrainExamples} training pairs from the demo dataset: a page title → its known queries, a query → its pages' titles; {result.DroppedTooLong} longer than {MaxLength} tokens left out) in {trainSeconds:F0} s, validation loss {result.FirstValLoss:F3} before training, {result.FinalValLoss:F3} after. Held out: {held.Count} pairs, {sequences.Sum(s => s.Length - 1)} next-token positions; logits of every export from LLamaSharp ({threads} threads) on the same token ids."));
        output.WriteLine();
        output.WriteLine("| comparison | top-1 agreement | mean KL(reference ‖ other), nats | 99th percentile KL | max KL | other: perplexity of the held-out tokens (prompt and response) | other: mean top-1 probability | file |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        WriteRow(output, "sanity: TorchSharp f32 (reference) vs GGUF f32", torchLogits, gguf["f32"], sequences, exports["f32"].Bytes);
        foreach (var type in s_types.Skip(1))
        {
            WriteRow(output, $"GGUF f32 (reference) vs GGUF {type}", gguf["f32"], gguf[type], sequences, exports[type].Bytes);
        }
        var reference = Compare(torchLogits, torchLogits, sequences);
        output.WriteLine();
        output.WriteLine(Invariant($"For scale: TorchSharp's own perplexity of the held-out tokens (every position, the unpredictable titles of the prompts included; the validation loss counts response tokens only) is {reference.Perplexity:F2} and its mean top-1 probability {reference.MeanTopProbability:F3} (a flat distribution over the vocabulary would give {tokenizer.VocabularySize} and {1.0 / tokenizer.VocabularySize:F4})."));
        Directory.Delete(root, recursive: true);
    }

    // A byte-level BPE trained on the SFT texts and a random Llama of the scenario's shape, written as a checkpoint.
    private static ITextTokenizer CreateBaseModel(string folder, List<SftRecord> records)
    {
        Directory.CreateDirectory(folder);
        ByteLevelBpeVocabularyBuilder.Build(records.Select(r => r.Prompt + "\n" + r.Output), DecoderSpecialTokens.Llama, new VocabularyOptions { VocabSize = 2048 }).WriteTo(folder, 256);
        var tokenizer = TokenizerLoader.Load(folder);
        var config = LlamaConfig.Tiny with
        {
            VocabSize = tokenizer.VocabularySize,
            HiddenSize = 256,
            IntermediateSize = 768,
            NumHiddenLayers = 4,
            NumAttentionHeads = 8,
            NumKeyValueHeads = 4,
            MaxPositionEmbeddings = 256,
            TieWordEmbeddings = false,
            BosTokenId = tokenizer.Special.Bos,
            EosTokenIds = tokenizer.Special.Eos is { } eos ? [eos] : [],
            PadTokenId = tokenizer.Special.Pad,
        };
        using var model = new LlamaForCausalLM(config);
        HfInitialization.Apply(model, config.InitializerRange, 3, "model.embed_tokens.weight", config.PadTokenId);
        WeightSaver.SavePretrained(model, config, folder, TensorDType.Float32);
        return tokenizer;
    }

    private static void WriteSft(string path, List<SftRecord> records) =>
        File.WriteAllText(path, JsonSerializer.Serialize(records.Select(r => new Dictionary<string, string> { ["instruction"] = r.Instruction, ["input"] = r.Input, ["output"] = r.Output })));

    private static List<float[][]> TorchLogits(string folder, List<int[]> sequences)
    {
        using var model = LlamaForCausalLM.FromPretrained(folder, TorchDevices.ParseDevice("cpu"), ScalarType.Float32);
        model.eval();
        using var noGrad = no_grad();
        var result = new List<float[][]>(sequences.Count);
        foreach (var ids in sequences)
        {
            using var scope = NewDisposeScope();
            var input = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0); // (1, T)
            var logits = model.forward(input).squeeze(0).contiguous(); // (T, V)
            var flat = logits.data<float>().ToArray();
            var width = (int)logits.shape[1];
            result.Add([.. Enumerable.Range(0, ids.Length).Select(t => flat.AsSpan(t * width, width).ToArray())]);
        }
        return result;
    }

    private static void WriteRow(TextWriter output, string label, List<float[][]> reference, List<float[][]> other, List<int[]> sequences, long bytes)
    {
        var c = Compare(reference, other, sequences);
        output.WriteLine(Invariant($"| {label} | {100 * c.Agreement:F1} % | {c.MeanKl:G3} | {c.P99Kl:G3} | {c.MaxKl:G3} | {c.Perplexity:F2} | {c.MeanTopProbability:F3} | {bytes / 1e6:F1} MB |"));
    }

    // Over every position but the last of each sequence (the ones with a next token): top-1
    // agreement, KL(reference ‖ other), and the other's perplexity of the actual next tokens.
    private static Comparison Compare(List<float[][]> reference, List<float[][]> other, List<int[]> sequences)
    {
        var kls = new List<double>();
        long agree = 0;
        double nll = 0, topProbability = 0;
        for (var s = 0; s < sequences.Count; s++)
        {
            for (var t = 0; t + 1 < sequences[s].Length; t++)
            {
                var p = LogSoftmax(reference[s][t]);
                var q = LogSoftmax(other[s][t]);
                double kl = 0;
                for (var v = 0; v < p.Length; v++)
                {
                    kl += Math.Exp(p[v]) * (p[v] - q[v]);
                }
                kls.Add(Math.Max(0, kl));
                agree += ArgMax(p) == ArgMax(q) ? 1 : 0;
                nll -= q[sequences[s][t + 1]];
                topProbability += Math.Exp(q.Max());
            }
        }
        kls.Sort();
        return new Comparison((double)agree / kls.Count, kls.Average(), kls[(int)Math.Min(kls.Count - 1, Math.Ceiling(0.99 * kls.Count) - 1)], kls[^1], Math.Exp(nll / kls.Count), topProbability / kls.Count);
    }

    private static double[] LogSoftmax(float[] logits)
    {
        var max = logits.Max();
        var sum = logits.Sum(l => Math.Exp(l - max));
        var log = Math.Log(sum) + max;
        return [.. logits.Select(l => l - log)];
    }

    private static int ArgMax(double[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Comparison(double Agreement, double MeanKl, double P99Kl, double MaxKl, double Perplexity, double MeanTopProbability);
}
