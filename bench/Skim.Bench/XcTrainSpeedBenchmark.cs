using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Skim.Core.Formats.Corpus;
using Skim.Models.DistilBert;
using Skim.Models.ModelFactory;
using Skim.XcTrain.Training;
using static TorchSharp.torch;

namespace Skim.Bench;

/// <summary>
/// Dual-encoder training speed at DistilBERT-base shape (6 layers, hidden 768, 12 heads, FFN 3072,
/// vocab 30522; random weights): DEXML steps of 64 queries and their 64 sampled positive labels,
/// 32 tokens each, in-batch decoupled softmax at temperature 0.05, CLS pooling and L2 norm, dropout
/// 0.1, forward + backward + AdamW. Skim runs its real trainer (<see cref="XcTrainer.RunAsync"/>,
/// which runs DualEncoderStep) on a synthetic dataset where each train point has one distinct label,
/// so every batch's label columns are its 64 sampled positives; each step's time is read from the
/// trainer's per-batch progress reports. PyTorch 1.13 eager runs the same step on the same model in
/// plain torch.nn (bench/reference/xctrain_bench.py) under the fastest right setting the baseline
/// tuning finds. Both report the median step after warm-up steps, in alternating rounds.
/// </summary>
public sealed class XcTrainSpeedBenchmark : IBenchScenario
{
    private const int Batch = 64;
    private const int SequenceLength = 32;
    private const int Threads = 2;
    private const double Temperature = 0.05;
    private const double LearningRate = 1e-4;

    // Texts longer than the token budget, so every sequence is 32 real tokens as on the PyTorch side.
    private const int WordsPerText = 40;

    // Ids below this are never drawn, as xctrain_bench.py draws randint(1000, vocab).
    private const int FirstWordId = 1000;

    private static readonly string[] s_specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    // --quick: one round of 1 + 2 steps per side, enough to see every part run, not to measure.
    private static int WarmUp => BenchOptions.Quick ? 1 : 2;

    private static int Steps => BenchOptions.Quick ? 2 : 5;

    private static int Rounds => BenchOptions.Quick ? 1 : 2;

    // The tuning probe: the same step on a quarter of the batch (an eighth with --quick), without the peak.
    private static int ProbeBatch => BenchOptions.Quick ? 8 : 16;

    private static string[] ProbeArguments =>
        ["--batch", $"{ProbeBatch}", "--seq-len", $"{SequenceLength}", "--threads", $"{Threads}", "--warmup", "1", "--steps", BenchOptions.Quick ? "1" : "2", "--peak-repeats", "0"];

    /// <inheritdoc />
    public string Name => "xctrain-speed";

    /// <inheritdoc />
    public string Description => "DEXML dual-encoder training examples/s at DistilBERT-base shape (64 + 64 × 32 tokens, f32, 2 threads) vs PyTorch eager";

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var loadBefore = LoadAverage();
        set_num_threads(Threads);
        var dir = Path.Combine(workDirectory, "xctrain-speed");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);

        // A 30522-token WordPiece vocabulary of synthetic words, so the embedding matrix (and its
        // gradient and AdamW state) has distilbert-base-uncased's size, as `skim model init` makes it.
        var config = DistilBertConfig.BaseUncased;
        var tokenizerDirectory = Path.Combine(dir, "tokenizer");
        Directory.CreateDirectory(tokenizerDirectory);
        WriteVocabulary(Path.Combine(tokenizerDirectory, "vocab.txt"), config.VocabSize);
        var encoderDirectory = Path.Combine(dir, "encoder");
        var init = ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = "distilbert",
            Preset = "distilbert-base-uncased",
            Tokenizer = tokenizerDirectory,
            OutputDirectory = encoderDirectory,
            Seed = 0,
        }, ct);
        var dataDirectory = Path.Combine(dir, "data");
        WriteDataset(dataDirectory, Batch * (WarmUp + Steps), new Random(2025));

        var tuning = await BenchPython.TuneAsync("xctrain_bench.py", ProbeArguments, ct).ConfigureAwait(false);
        var setting = tuning.EnvironmentFor("xctrain");

        var ourSteps = new List<double>();
        var theirSteps = new List<double>();
        var roundRatios = new List<double>();
        var ourLosses = new List<double>();
        var theirLosses = new List<double>();
        var trainerRates = new List<double>();
        var (ourPeak, theirPeak) = (0.0, 0.0);
        JsonElement python = default;
        for (var round = 0; round < Rounds; round++)
        {
            ourPeak = Math.Max(ourPeak, BenchMatmul.PeakGflops());
            var run = Path.Combine(dir, $"run-{round}");
            var clock = new StepClock();
            var result = await XcTrainer.RunAsync(TrainOptions(dataDirectory, run, encoderDirectory, Path.Combine(dir, "tokens"), round), clock, ct).ConfigureAwait(false);
            // On a shared machine one peak reading can land in a busy moment: the better of before and after.
            ourPeak = Math.Max(ourPeak, BenchMatmul.PeakGflops());
            var ours = clock.StepSeconds().Skip(WarmUp).ToList();
            ourSteps.AddRange(ours);
            ourLosses.Add(result.Records[^1].Loss);
            trainerRates.Add(result.Records[^1].ExamplesPerSecond);
            // The checkpoint holds the weights and AdamW's two moments (about 0.8 GB): not kept.
            Directory.Delete(run, recursive: true);

            var json = await BenchPython.RunAsync(
                "xctrain_bench.py",
                ["--batch", $"{Batch}", "--seq-len", $"{SequenceLength}", "--threads", $"{Threads}", "--warmup", $"{WarmUp}", "--steps", $"{Steps}",
                 "--peak-repeats", BenchOptions.Quick ? "2" : "5", "--temperature", Invariant($"{Temperature}"), "--lr", Invariant($"{LearningRate}")],
                ct,
                setting).ConfigureAwait(false);
            using var document = JsonDocument.Parse(json);
            python = document.RootElement.Clone();
            var theirs = python.GetProperty("step_seconds").EnumerateArray().Select(e => e.GetDouble()).ToList();
            theirSteps.AddRange(theirs);
            theirLosses.Add(python.GetProperty("losses").EnumerateArray().Average(e => e.GetDouble()));
            theirPeak = Math.Max(theirPeak, python.GetProperty("matmul_gflops").GetDouble());
            roundRatios.Add(Median(theirs) / Median(ours));
        }
        var loadAfter = LoadAverage();

        var (ourMedian, theirMedian) = (Median(ourSteps), Median(theirSteps));
        var flops = FlopsPerStep(config);
        var parameters = init.Info.ParameterCount;
        output.WriteLine(Invariant($"DistilBERT-base shape from `skim model init`'s code (ModelInitializer, preset distilbert-base-uncased, vocab {config.VocabSize}): {parameters / 1e6:F1} M parameters. One step: {Batch} queries + their {Batch} sampled positive labels × {SequenceLength} tokens, in-batch decoupled softmax (τ {Temperature}), CLS pooling + L2 norm, dropout 0.1, forward + backward + AdamW (lr {LearningRate}, weight decay 0.01 on weights); ≈ {flops / 1e9:F0} GFLOP (3 × the forward matmuls of {2 * Batch} sequences). {Threads} threads; {Rounds} alternating rounds of {WarmUp} warm-up + {Steps} timed steps per side; the median of all timed steps."));
        output.WriteLine(Invariant($"Skim: XcTrainer.RunAsync (DualEncoderStep, the code path of `skim train --model dexml`), each step timed between the trainer's per-batch progress reports. Equivalent command: {CommandLine(dataDirectory, encoderDirectory)}"));
        output.WriteLine(Invariant($"PyTorch {python.GetProperty("torch").GetString()}, BLAS_INFO={python.GetProperty("blas").GetString()} ({string.Join(", ", python.GetProperty("blas_libraries").EnumerateArray().Select(e => e.GetString()))}), AdamW foreach={python.GetProperty("foreach").GetBoolean().ToString().ToLowerInvariant()}; TorchSharp libtorch {__version__}. Load average {loadBefore} before, {loadAfter} after."));
        output.WriteLine();
        tuning.Write(output, "PyTorch float32 dual-encoder step", _ => $"probe: batch {ProbeBatch} examples/s");
        output.WriteLine(Invariant($"PyTorch ran with {tuning.NameFor("xctrain")} (the fastest right setting of {tuning.CandidateCount} tried; the ratio is against it): {BaselineTuning.Describe(python.GetProperty("baseline"))}."));
        output.WriteLine();
        output.WriteLine(Invariant($"| DEXML training step (DistilBERT-base shape, {Batch} + {Batch} × {SequenceLength} tokens, f32) | median step (s) | examples/s | ≈ GFLOP/s | matmul peak (GFLOP/s) | share of peak |"));
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        output.WriteLine(Invariant($"| Skim (XcTrainer → DualEncoderStep, TorchSharp) | {ourMedian:F2} | {Batch / ourMedian:F1} | {flops / ourMedian / 1e9:F1} | {ourPeak:F1} | {100 * flops / ourMedian / 1e9 / ourPeak:F0} % |"));
        output.WriteLine(Invariant($"| PyTorch 1.13 eager, fastest right setting | {theirMedian:F2} | {Batch / theirMedian:F1} | {flops / theirMedian / 1e9:F1} | {theirPeak:F1} | {100 * flops / theirMedian / 1e9 / theirPeak:F0} % |"));
        output.WriteLine(Invariant($"| ratio Skim / PyTorch (fastest setting) | | {theirMedian / ourMedian:F2}× | | | |"));
        output.WriteLine();
        output.WriteLine(Invariant($"Ratio of the medians within each round (Skim, then PyTorch right after): {string.Join(", ", roundRatios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture) + "×"))}."));
        output.WriteLine(Invariant($"Timed steps (s), Skim: {Join(ourSteps)}; PyTorch: {Join(theirSteps)}."));
        output.WriteLine(Invariant($"PyTorch's AdamW step + zero_grad (median of the last round): {python.GetProperty("optimizer_seconds").GetDouble():F2} s. Skim's own train_log examples/s for each run's epoch (warm-up steps included): {string.Join(", ", trainerRates.Select(r => r.ToString("F1", CultureInfo.InvariantCulture)))}."));
        output.WriteLine(Invariant($"Mean loss per run (both start near ln {Batch} = {Math.Log(Batch):F2}; same objective): Skim {string.Join(", ", ourLosses.Select(l => l.ToString("F3", CultureInfo.InvariantCulture)))}; PyTorch {string.Join(", ", theirLosses.Select(l => l.ToString("F3", CultureInfo.InvariantCulture)))}."));
    }

    private static XcTrainOptions TrainOptions(string data, string run, string encoder, string tokens, int round) => new()
    {
        DatasetDirectory = data,
        OutputDirectory = run,
        Model = XcModelKind.Dexml,
        Loss = DualEncoderLossKind.DecoupledSoftmax,
        Sampler = "in-batch",
        Encoder = encoder,
        Pooling = "cls",
        Normalize = true,
        Temperature = Temperature,
        Epochs = 1,
        BatchSize = Batch,
        LearningRate = LearningRate,
        MaxLength = SequenceLength,
        ValidationFraction = 0,
        Device = "cpu",
        Threads = Threads,
        Seed = round,
        TokenCacheDirectory = tokens,
    };

    private static string CommandLine(string data, string encoder) =>
        Invariant($"`skim train --dataset {data} --out RUN --model dexml --loss decoupled-softmax --sampler in-batch --encoder {encoder} --pooling cls --epochs 1 --batch-size {Batch} --lr {LearningRate} --temperature {Temperature} --max-length {SequenceLength} --validation-fraction 0 --device cpu --threads {Threads}`");

    // Line i holds the token of id i: the specials, then w5, w6, … so that the text "w1234" is id 1234.
    private static void WriteVocabulary(string path, int size)
    {
        var text = new StringBuilder();
        for (var id = 0; id < size; id++)
        {
            text.Append(id < s_specialTokens.Length ? s_specialTokens[id] : Invariant($"w{id}")).Append('\n');
        }
        File.WriteAllText(path, text.ToString());
    }

    // XC layout: train point i has the one label i; random words as texts; one test point (the layout needs it).
    private static void WriteDataset(string directory, int points, Random random)
    {
        Directory.CreateDirectory(directory);
        var vocabulary = DistilBertConfig.BaseUncased.VocabSize;
        string Text() => string.Join(' ', Enumerable.Range(0, WordsPerText).Select(_ => Invariant($"w{random.Next(FirstWordId, vocabulary)}")));
        XcCorpus.Write(Path.Combine(directory, "trn.json"), [.. Enumerable.Range(0, points).Select(i => new XcCorpusRecord(Invariant($"p{i}"), Text(), "", [i], [1f]))]);
        XcCorpus.Write(Path.Combine(directory, "lbl.json"), [.. Enumerable.Range(0, points).Select(i => XcCorpusRecord.FromText(Invariant($"l{i}"), Text()))]);
        XcCorpus.Write(Path.Combine(directory, "tst.json"), [new XcCorpusRecord("t0", Text(), "", [0], [1f])]);
    }

    /// <summary>3 × (2 × matmul weights × tokens + attention products) per sequence, for 2 × batch sequences: backward costs about twice the forward.</summary>
    private static double FlopsPerStep(DistilBertConfig config)
    {
        double h = config.Dim;
        var matmulWeights = config.NLayers * ((4 * h * h) + (2 * h * config.HiddenDim));
        var attention = config.NLayers * 2.0 * 2.0 * SequenceLength * SequenceLength * h;
        return 3.0 * 2 * Batch * ((2.0 * matmulWeights * SequenceLength) + attention);
    }

    private static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Join(IEnumerable<double> values) => string.Join(" ", values.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)));

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Times the trainer's steps from its progress reports, which it makes on its own thread right
    /// after each batch's optimizer update: the gap between two reports is one whole step (token
    /// gather, forward, loss, backward, AdamW, zero_grad). The first step is timed from the report
    /// of the (empty) epoch-0 validation just before the loop.
    /// </summary>
    private sealed class StepClock : IProgress<XcTrainProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<double> _marks = [];

        public void Report(XcTrainProgress value)
        {
            if ((value.Phase == "validating" && value.Epoch == 0) || value.Phase == "training")
            {
                _marks.Add(_clock.Elapsed.TotalSeconds);
            }
        }

        public List<double> StepSeconds() => [.. _marks.Zip(_marks.Skip(1), (a, b) => b - a)];
    }
}
