using Skim.Core;
using static TorchSharp.torch;

namespace Skim.Distill.FineTuning;

/// <summary>One forward/backward pass: right-padded inputs and their shifted, masked targets.</summary>
/// <param name="Inputs">Token ids (B, T) int64: each sequence but its last id, right-padded.</param>
/// <param name="Targets">Next-token targets (B, T) int64: response ids, <see cref="SftLoss.IgnoreIndex"/> on prompt and padding positions.</param>
/// <param name="Tokens">Ids fed in, padding excluded.</param>
/// <param name="ResponseTokens">Targets the loss counts.</param>
public sealed record SftMicroBatch(Tensor Inputs, Tensor Targets, long Tokens, long ResponseTokens) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
    }
}

/// <summary>
/// The data order of a run. Each epoch shuffles the examples with a generator seeded from the run
/// seed and the epoch, so the order of any epoch is remade from its number alone (a resumed run
/// needs only its step). The shuffled list is cut into global batches; with bucketing, each global
/// batch is sorted by length before being cut into micro batches. Because the loss is averaged
/// over the tokens of the whole global batch, regrouping its sequences into micro batches changes
/// the padding but not the gradient.
/// </summary>
public sealed class SftBatches
{
    private readonly IReadOnlyList<SftExample> _examples;
    private readonly int _microBatchSize;
    private readonly int _globalBatchSize;
    private readonly bool _bucketing;
    private readonly long _seed;
    private int _cachedEpoch = -1;
    private int[] _cachedOrder = [];

    /// <summary>Plans batches over <paramref name="examples"/>.</summary>
    public SftBatches(IReadOnlyList<SftExample> examples, int microBatchSize, int globalBatchSize, bool bucketing, long seed)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(microBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(globalBatchSize, microBatchSize);
        _examples = examples;
        _microBatchSize = microBatchSize;
        _globalBatchSize = globalBatchSize;
        _bucketing = bucketing;
        _seed = seed;
    }

    /// <summary>Gets the optimizer steps of one epoch (the last global batch may be smaller).</summary>
    public int StepsPerEpoch => (_examples.Count + _globalBatchSize - 1) / _globalBatchSize;

    /// <summary>Returns the example order of <paramref name="epoch"/> (0-based): a seeded Fisher–Yates shuffle.</summary>
    public int[] EpochOrder(int epoch)
    {
        if (epoch == _cachedEpoch)
        {
            return _cachedOrder;
        }
        var order = Enumerable.Range(0, _examples.Count).ToArray();
        new Random(SeedMix.Of(_seed, "order", epoch)).Shuffle(order);
        (_cachedEpoch, _cachedOrder) = (epoch, order);
        return order;
    }

    /// <summary>Returns the micro batches (example indices) of step <paramref name="stepInEpoch"/> of <paramref name="epoch"/>.</summary>
    public IReadOnlyList<int[]> Step(int epoch, int stepInEpoch)
    {
        var order = EpochOrder(epoch);
        var global = order.Skip(stepInEpoch * _globalBatchSize).Take(_globalBatchSize).ToArray();
        if (_bucketing)
        {
            // Longest first, ties by index: deterministic, and the largest pass runs first, so a
            // batch that does not fit in memory fails at once.
            global = [.. global.OrderByDescending(i => _examples[i].Length).ThenBy(i => i)];
        }
        return [.. global.Chunk(_microBatchSize)];
    }

    /// <summary>Counts the response tokens of a step's micro batches (the loss's divisor).</summary>
    public long ResponseTokens(IEnumerable<int[]> microBatches) =>
        microBatches.SelectMany(m => m).Sum(i => (long)_examples[i].ResponseLength);

    /// <summary>Builds the tensors of one micro batch on <paramref name="device"/>.</summary>
    public SftMicroBatch Collate(IReadOnlyList<int> indices, int padId, Device device) =>
        Collate([.. indices.Select(i => _examples[i])], padId, device);

    /// <summary>
    /// Builds right-padded inputs (B, T) and targets (B, T) with T = longest length − 1: input
    /// position t sees ids 0..t and is trained to predict id t + 1 when that id is response or EOS.
    /// </summary>
    public static SftMicroBatch Collate(IReadOnlyList<SftExample> examples, int padId, Device device)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var batch = examples.Count;
        var width = examples.Max(e => e.Length) - 1;
        var inputs = new long[batch * width];
        var targets = new long[batch * width];
        Array.Fill(inputs, padId);
        Array.Fill(targets, SftLoss.IgnoreIndex);
        long tokens = 0, response = 0;
        for (var b = 0; b < batch; b++)
        {
            var example = examples[b];
            var row = b * width;
            for (var t = 0; t < example.Length - 1; t++)
            {
                inputs[row + t] = example.Ids[t];
                if (t + 1 >= example.PromptLength)
                {
                    targets[row + t] = example.Ids[t + 1];
                }
            }
            tokens += example.Length - 1;
            response += example.ResponseLength;
        }
        return new SftMicroBatch(
            tensor(inputs, [batch, width], device: device),
            tensor(targets, [batch, width], device: device),
            tokens,
            response);
    }
}
