using static TorchSharp.torch;

namespace Skim.Models.Generation;

/// <summary>
/// Picks the next token of every batch row from that row's own seed, so that a prompt's
/// continuation does not depend on which prompts share its batch, on the batch size or on the order
/// of batches (step-1 resumes and re-shards and must give the same texts).
/// </summary>
/// <remarks>
/// <para>
/// A shared generator hands out draws in batch order, so a row's draws change with its neighbours.
/// Here the draw is a function of (row seed, step, token id) alone: the Gumbel-max trick, taking the
/// candidate with the largest <c>logit / temperature + Gumbel noise</c>, samples exactly from the
/// softmax of the kept candidates, and the noise of a candidate comes from a counter-based hash of
/// the three numbers instead of a stream. So the draw depends neither on where a candidate stands in
/// a sorted top-k list nor on the other candidates: logits that differ in the last bits between
/// batch shapes (another matrix-multiply blocking, more padding) change the choice only when two
/// perturbed scores tie to within that rounding, not whenever two near-equal logits swap places.
/// </para>
/// <para>
/// Filtering follows <see cref="TokenSampler"/>: the top k logits, then the smallest set of them
/// (by probability) whose mass reaches top_p; greedy decoding (temperature 0) is the argmax.
/// </para>
/// </remarks>
internal sealed class PerItemSampler
{
    private readonly GenerationOptions _options;

    /// <summary>Creates a sampler with the filtering and temperature of <paramref name="options"/>.</summary>
    public PerItemSampler(GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>
    /// Returns the chosen ids (B), int64 on the logits' device, for logits (B, V); row j samples
    /// with seed <paramref name="seeds"/>[j] at its step <paramref name="steps"/>[j] (tokens it has generated so far).
    /// </summary>
    public Tensor Sample(Tensor logits, IReadOnlyList<long> seeds, IReadOnlyList<int> steps)
    {
        ArgumentNullException.ThrowIfNull(logits);
        using var scores = logits.to_type(ScalarType.Float32); // (B, V)
        if (_options.IsGreedy)
        {
            return scores.argmax(-1); // (B)
        }
        var rows = (int)scores.shape[0];
        var vocabulary = (int)scores.shape[1];
        float[] values;
        long[] ids;
        int width;
        if (_options.TopK > 0 && _options.TopK < vocabulary)
        {
            var (top, indices) = scores.topk(_options.TopK, -1); // (B, k) each
            using (top)
            using (indices)
            {
                values = top.cpu().data<float>().ToArray();
                ids = indices.cpu().data<long>().ToArray();
            }
            width = _options.TopK;
        }
        else
        {
            values = scores.cpu().data<float>().ToArray();
            ids = new long[values.Length];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = i % vocabulary;
            }
            width = vocabulary;
        }
        var chosen = new long[rows];
        for (var j = 0; j < rows; j++)
        {
            chosen[j] = Choose(values.AsSpan(j * width, width), ids.AsSpan(j * width, width), seeds[j], steps[j]);
        }
        return tensor(chosen, device: logits.device); // (B)
    }

    /// <summary>Chooses one of the candidate ids given their logits, a seed and a step (temperature &gt; 0).</summary>
    internal long Choose(ReadOnlySpan<float> logits, ReadOnlySpan<long> ids, long seed, int step)
    {
        var count = logits.Length;
        var order = new int[count];
        var scaled = new double[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
            scaled[i] = logits[i] / _options.Temperature;
        }
        var keep = count;
        if (_options.TopP < 1)
        {
            keep = NucleusSize(scaled, ids, order, _options.TopP);
        }
        var best = -1;
        var bestKey = double.NegativeInfinity;
        for (var n = 0; n < keep; n++)
        {
            var i = order[n];
            if (double.IsNegativeInfinity(scaled[i]))
            {
                continue;
            }
            var key = scaled[i] + Gumbel(seed, step, ids[i]);
            if (best < 0 || key > bestKey || (key == bestKey && ids[i] < ids[best]))
            {
                best = i;
                bestKey = key;
            }
        }
        // All candidates at -inf (a fully masked row) fall back to the first, like an argmax would.
        return best < 0 ? ids[0] : ids[best];
    }

    /// <summary>
    /// Sorts <paramref name="order"/> by score descending (ties by id) and returns how many of the
    /// first candidates the nucleus keeps: those whose strictly more likely predecessors hold less than <paramref name="topP"/>.
    /// </summary>
    private static int NucleusSize(double[] scaled, ReadOnlySpan<long> ids, int[] order, double topP)
    {
        var idCopy = ids.ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byScore = scaled[b].CompareTo(scaled[a]);
            return byScore != 0 ? byScore : idCopy[a].CompareTo(idCopy[b]);
        });
        var max = scaled[order[0]];
        var total = 0.0;
        foreach (var i in order)
        {
            total += Math.Exp(scaled[i] - max);
        }
        var before = 0.0;
        for (var n = 0; n < order.Length; n++)
        {
            if (before >= topP)
            {
                return n;
            }
            before += Math.Exp(scaled[order[n]] - max) / total;
        }
        return order.Length;
    }

    /// <summary>Standard Gumbel noise for (seed, step, token): <c>-ln(-ln(u))</c> with u uniform in (0, 1) from a hash.</summary>
    internal static double Gumbel(long seed, int step, long token)
    {
        var h = Mix(Mix(Mix(unchecked((ulong)seed)) ^ unchecked((ulong)step)) ^ unchecked((ulong)token));
        // 53 random bits, offset by half a unit so that u is never 0 or 1.
        var u = ((h >> 11) + 0.5) * (1.0 / (1UL << 53));
        return -Math.Log(-Math.Log(u));
    }

    // SplitMix64's finaliser: every input bit affects every output bit.
    private static ulong Mix(ulong x)
    {
        unchecked
        {
            x += 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }
}
