using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Distill.FineTuning;
using Skim.Models.Llama;
using Skim.Models.ModelFactory;
using Skim.Models.Tokenization;
using Skim.Models.Vocabulary;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Bench;

/// <summary>
/// Issue 7's fine-tuning benchmark: LoRA fine-tuning tokens/s at SmolLM-135M shape (30 layers,
/// hidden 576, 9 / 3 heads, SwiGLU 1536, vocab 49152, tied embeddings; random weights drawn as
/// `skim model init` draws them), sequences of 256 inputs, micro batch 8 (one micro batch per
/// optimizer step), LoRA r 8 / alpha 16 / dropout 0.05 on the fine-tuner's default targets (q, k, v,
/// o, gate, up, down), loss on response tokens only, gradient clip 1, AdamW, float32. Skim runs its
/// real fine-tuner (<see cref="FineTuner.RunAsync"/>) on SFT files whose pairs tokenize to exactly
/// 257 ids (129 prompt ids with BOS, 127 response ids and EOS); each step's time is read from its
/// train_log (the clock it keeps per step). PyTorch 1.13 eager runs the same step with a hand-written
/// LoRA layer (bench/reference/lora_bench.py) on the very micro batches the fine-tuner trained on, in
/// its order, under the fastest right setting the baseline tuning finds. Warm-up steps are excluded
/// on both sides; the median timed step counts.
/// </summary>
public sealed class LoraBenchmark : IBenchScenario
{
    private const int Threads = 2;
    private const int VocabularyTarget = 1000;
    private const long Seed = 0;
    private const double LearningRate = 3e-4;

    // --quick: short sequences, a micro batch of 2 and 1 + 1 steps: every part runs, nothing is measured.
    private static int SequenceLength => BenchOptions.Quick ? 64 : 256;

    private static int MicroBatch => BenchOptions.Quick ? 2 : 8;

    private static int WarmUp => BenchOptions.Quick ? 1 : 2;

    private static int Steps => BenchOptions.Quick ? 1 : 3;

    // The tuning probe: the same step at a quarter of the micro batch (one sequence with --quick).
    private static int ProbeMicroBatch => BenchOptions.Quick ? 1 : 2;

    /// <inheritdoc />
    public string Name => "lora";

    /// <inheritdoc />
    public string Description => "LoRA fine-tuning tokens/s at SmolLM-135M shape (8 × 256 tokens, r 8, f32, 2 threads) vs PyTorch eager";

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var loadBefore = LoadAverage();
        set_num_threads(Threads);
        var dir = Path.Combine(workDirectory, "lora");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);

        // The base model: a byte-level BPE trained on synthetic words (so every sequence can be made
        // exactly as long as wanted), and SmolLM-135M's shape with its full 49152-entry vocabulary
        // (embedding and head), the tokenizer's special ids in its config.
        var baseModel = Path.Combine(dir, "base");
        var words = Words(new Random(7));
        var corpusRandom = new Random(8);
        ByteLevelBpeVocabularyBuilder.Build(
            Enumerable.Range(0, 2000).Select(line => string.Join(' ', Enumerable.Range(0, 24).Select(slot => words[corpusRandom.Next(words.Count)]))),
            DecoderSpecialTokens.Llama,
            new VocabularyOptions { VocabSize = VocabularyTarget }).WriteTo(baseModel, LlamaConfig.SmolLM135M.MaxPositionEmbeddings);
        var tokenizer = TokenizerLoader.Load(baseModel);
        var eos = tokenizer.Special.Eos ?? throw new InvalidOperationException("the trained tokenizer has no EOS token");
        var config = LlamaConfig.SmolLM135M with { BosTokenId = tokenizer.Special.Bos, EosTokenIds = [eos], PadTokenId = tokenizer.Special.Pad };
        using (var model = new LlamaForCausalLM(config))
        {
            HfInitialization.Apply(model, config.InitializerRange, Seed, "model.embed_tokens.weight", config.PadTokenId);
            WeightSaver.SavePretrained(model, config, baseModel);
        }

        // SFT pairs of exactly SequenceLength + 1 ids: prompt (BOS + text) of half the inputs plus one,
        // response text and EOS the rest.
        var length = SequenceLength + 1;
        var promptLength = (SequenceLength / 2) + 1;
        var count = MicroBatch * (WarmUp + Steps);
        var textRandom = new Random(9);
        var counter = new LoraTokenCounter(tokenizer, words);
        List<SftRecord> Records(int n) =>
            [.. Enumerable.Range(0, n).Select(_ => new SftRecord(
                counter.Text(promptLength - tokenizer.PrefixIds.Count, textRandom),
                "",
                counter.Text(length - promptLength - 1, textRandom)))];
        var train = Records(count);
        var validation = Records(1);
        var sft = Path.Combine(dir, "sft");
        Directory.CreateDirectory(sft);
        WriteSft(Path.Combine(sft, "train.json"), train);
        WriteSft(Path.Combine(sft, "val.json"), validation);
        var examples = SftExamples.Tokenize(train, tokenizer, eos, length).Examples;
        if (examples.Count != count || examples.Any(e => e.Length != length || e.PromptLength != promptLength))
        {
            throw new InvalidOperationException(Invariant($"the SFT pairs did not tokenize to {count} sequences of {length} ids with {promptLength} prompt ids"));
        }

        // The fine-tuner's own batches, step by step, for the PyTorch side: the same ids in the same order.
        var batches = new SftBatches(examples, MicroBatch, MicroBatch, bucketing: true, Seed);
        var data = Path.Combine(dir, "sequences.json");
        File.WriteAllText(data, new JsonObject
        {
            ["prompt_length"] = promptLength,
            ["sequences"] = new JsonArray([.. Enumerable.Range(0, WarmUp + Steps)
                .SelectMany(step => batches.Step(0, step).SelectMany(micro => micro))
                .Select(i => (JsonNode)new JsonArray([.. examples[i].Ids.Select(id => (JsonNode)id)]))]),
        }.ToJsonString());

        var tuning = await BenchPython.TuneAsync(
            "lora_bench.py",
            ["--data", data, "--micro-batch", $"{ProbeMicroBatch}", "--threads", $"{Threads}", "--warmup", "1", "--steps", BenchOptions.Quick ? "1" : "2", "--peak-repeats", "0"],
            ct).ConfigureAwait(false);

        // Skim: the fine-tuner as `skim run step-0 --finetune` runs it, one epoch over the pairs.
        var ourPeak = BenchMatmul.PeakGflops();
        var run = Path.Combine(dir, "run");
        var result = await FineTuner.RunAsync(Options(sft, baseModel, run, length), progress: null, ct).ConfigureAwait(false);
        ourPeak = Math.Max(ourPeak, BenchMatmul.PeakGflops());
        var rows = result.Log.OrderBy(r => r.Step).ToList();
        var stepRows = rows.Zip(rows.Skip(1), (before, after) => (Seconds: after.Seconds - before.Seconds, Tokens: after.Tokens - before.Tokens, after.TrainLoss)).ToList();
        var ours = stepRows.Skip(WarmUp).ToList();
        // The merged checkpoint and adapter are not needed; the base model is half a gigabyte.
        Directory.Delete(run, recursive: true);

        var json = await BenchPython.RunAsync(
            "lora_bench.py",
            ["--data", data, "--micro-batch", $"{MicroBatch}", "--threads", $"{Threads}", "--warmup", $"{WarmUp}", "--steps", $"{Steps}", "--peak-repeats", BenchOptions.Quick ? "2" : "5", "--lr", Invariant($"{LearningRate}")],
            ct,
            tuning.EnvironmentFor("lora")).ConfigureAwait(false);
        Directory.Delete(baseModel, recursive: true);
        using var document = JsonDocument.Parse(json);
        var python = document.RootElement;
        var theirs = python.GetProperty("step_seconds").EnumerateArray().Select(e => e.GetDouble()).ToList();
        var theirLosses = python.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToList();
        var theirPeak = python.GetProperty("matmul_gflops").GetDouble();
        var loadAfter = LoadAverage();

        var tokensPerStep = MicroBatch * SequenceLength;
        if (ours.Any(s => s.Tokens != tokensPerStep) || python.GetProperty("tokens_per_step").GetInt32() != tokensPerStep)
        {
            throw new InvalidOperationException(Invariant($"a step did not train on {tokensPerStep} tokens: Skim {string.Join(", ", ours.Select(s => s.Tokens))}, PyTorch {python.GetProperty("tokens_per_step").GetInt32()}"));
        }
        var (ourMedian, theirMedian) = (Median(ours.Select(s => s.Seconds)), Median(theirs));
        var flops = FlopsPerStep(config);
        var theirTrainable = python.GetProperty("trainable_parameters").GetInt64();
        var sameTrainable = theirTrainable == result.TrainableParameters;

        output.WriteLine(Invariant($"SmolLM-135M shape (LlamaConfig.SmolLM135M, vocab {config.VocabSize}, tied embeddings; HF initialisation, std {config.InitializerRange}); a {tokenizer.VocabularySize}-token byte-level BPE trained on synthetic words, so that every pair is exactly {length} ids: {promptLength} prompt ids (BOS included), {length - promptLength - 1} response ids and EOS. One step: {MicroBatch} sequences × {SequenceLength} inputs = {tokensPerStep} tokens, loss on the {length - promptLength} response targets of each, LoRA r 8 / alpha 16 / dropout 0.05 on q, k, v, o, gate, up, down; gradient clip 1; AdamW (0.9, 0.95, weight decay 0.01, constant lr {LearningRate}); float32; {Threads} threads. ≈ {flops / 1e9:F0} GFLOP per step (2 × the forward's: the frozen weights need input gradients only). {WarmUp} warm-up + {Steps} timed steps per side; the median timed step."));
        output.WriteLine(Invariant($"Skim: FineTuner.RunAsync (the fine-tuning stage's code: SftBatches, LlamaForCausalLM with LoraLinear, SftLoss, clip_grad_norm_, TorchSharp AdamW), each step's time from its train_log; TorchSharp libtorch {__version__}. PyTorch {python.GetProperty("torch").GetString()} eager, hand-written LoRALinear, the same micro batches in the same order. Load average {loadBefore} before, {loadAfter} after."));
        output.WriteLine();
        tuning.Write(output, "PyTorch float32 LoRA step", _ => $"probe: micro batch {ProbeMicroBatch} tokens/s");
        output.WriteLine(Invariant($"PyTorch ran with {tuning.NameFor("lora")} (the fastest right setting of {tuning.CandidateCount} tried; the ratio is against it): {BaselineTuning.Describe(python.GetProperty("baseline"))}."));
        output.WriteLine();
        output.WriteLine(Invariant($"| LoRA fine-tuning step (SmolLM-135M shape, {MicroBatch} × {SequenceLength} tokens, f32) | median step (s) | tokens/s | ≈ GFLOP/s | matmul peak (GFLOP/s) | share of peak |"));
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        output.WriteLine(Invariant($"| Skim (FineTuner, TorchSharp) | {ourMedian:F2} | {tokensPerStep / ourMedian:F0} | {flops / ourMedian / 1e9:F1} | {ourPeak:F1} | {100 * flops / ourMedian / 1e9 / ourPeak:F0} % |"));
        output.WriteLine(Invariant($"| PyTorch 1.13 eager, fastest right setting | {theirMedian:F2} | {tokensPerStep / theirMedian:F0} | {flops / theirMedian / 1e9:F1} | {theirPeak:F1} | {100 * flops / theirMedian / 1e9 / theirPeak:F0} % |"));
        output.WriteLine(Invariant($"| ratio Skim / PyTorch (fastest setting) | | {theirMedian / ourMedian:F2}× | | | |"));
        output.WriteLine();
        output.WriteLine(Invariant($"Target ≥ 1.0× PyTorch: {(theirMedian / ourMedian >= 1.0 ? "met" : "NOT met")} ({theirMedian / ourMedian:F2}×)."));
        output.WriteLine(Invariant($"Timed steps (s), Skim: {Join(ours.Select(s => s.Seconds))}; PyTorch: {Join(theirs)}. Warm-up steps, Skim: {Join(stepRows.Take(WarmUp).Select(s => s.Seconds))}. Skim's own tokens/s for the run (its train_log, warm-up included): {result.TokensPerSecond:F0}. PyTorch's clip + AdamW step + zero_grad (median): {python.GetProperty("optimizer_seconds").GetDouble():F3} s."));
        output.WriteLine(Invariant($"Same work: trainable parameters Skim {result.TrainableParameters:N0}, PyTorch {theirTrainable:N0} ({(sameTrainable ? "equal" : "DIFFERENT")}); all parameters Skim {result.TotalParameters:N0}, PyTorch {python.GetProperty("total_parameters").GetInt64():N0}; LoRA layers in PyTorch {python.GetProperty("lora_modules").GetInt32()}. Loss of the first step (the same micro batch; LoRA's B starts at zero, so it is the random base model's, near ln {config.VocabSize} = {Math.Log(config.VocabSize):F2}): Skim {stepRows[0].TrainLoss:F4}, PyTorch {theirLosses[0]:F4}; every step, Skim {Join(stepRows.Select(s => s.TrainLoss ?? double.NaN), "F4")}, PyTorch {Join(theirLosses, "F4")}."));
        if (!sameTrainable)
        {
            throw new InvalidOperationException(Invariant($"the two sides train different parameter counts (Skim {result.TrainableParameters}, PyTorch {theirTrainable}): they do not do the same work"));
        }
    }

    private static FineTuneOptions Options(string sft, string baseModel, string output, int length) => new()
    {
        SftDirectory = sft,
        BaseModelDirectory = baseModel,
        OutputDirectory = output,
        Method = FineTuneMethod.Lora,
        Epochs = 1,
        MicroBatchSize = MicroBatch,
        GlobalBatchSize = MicroBatch,
        MaxSequenceLength = length,
        // A constant 3e-4, as the PyTorch side runs it (the schedule costs nothing; the losses stay comparable).
        LearningRate = LearningRate,
        MinLearningRate = LearningRate,
        WarmupSteps = 0,
        // Validation only before the first and after the last step, one checkpoint at the end: the
        // train_log clock of each step holds the step alone.
        EvalEverySteps = 0,
        CheckpointEverySteps = 0,
        Seed = Seed,
        Device = "cpu",
        DType = "float32",
    };

    /// <summary>2 × (2 × matmul weights (layers and tied head) + attention products) per token: backward computes input gradients only.</summary>
    private static double FlopsPerStep(LlamaConfig config)
    {
        double h = config.HiddenSize;
        var headSize = h / config.NumAttentionHeads;
        var kv = config.KeyValueHeads * headSize;
        var perLayer = (2 * h * h) + (2 * h * kv) + (3 * h * config.IntermediateSize);
        var weights = (config.NumHiddenLayers * perLayer) + (config.VocabSize * h);
        var attention = config.NumHiddenLayers * 2.0 * 2.0 * SequenceLength * h;
        return 2.0 * MicroBatch * SequenceLength * ((2.0 * weights) + attention);
    }

    // 150 pronounceable synthetic words of 2 or 3 syllables; BPE learns most of them as one token.
    private static List<string> Words(Random random)
    {
        const string consonants = "bdfgklmnprstvz";
        const string vowels = "aeiou";
        var words = new HashSet<string>(StringComparer.Ordinal);
        while (words.Count < 150)
        {
            var syllables = random.Next(2, 4);
            words.Add(string.Concat(Enumerable.Range(0, syllables).Select(_ => $"{consonants[random.Next(consonants.Length)]}{vowels[random.Next(vowels.Length)]}")));
        }
        return [.. words.Order(StringComparer.Ordinal)];
    }

    private static void WriteSft(string path, IEnumerable<SftRecord> records) =>
        File.WriteAllText(path, new JsonArray([.. records.Select(r => (JsonNode)new JsonObject
        {
            ["instruction"] = r.Instruction,
            ["input"] = r.Input,
            ["output"] = r.Output,
        })]).ToJsonString());

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Join(IEnumerable<double> values, string format = "F2") =>
        string.Join(" ", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)));

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
