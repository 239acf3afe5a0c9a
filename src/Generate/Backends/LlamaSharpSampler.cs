namespace Skim.Generate.Backends;

/// <summary>
/// Picks the next token of one sequence from its logits: greedy at temperature 0, else top-k, then
/// temperature, then top-p, then one draw from the sequence's own random stream. Everything depends
/// only on the sequence's logits and its seed, never on which other sequences share the batch.
/// </summary>
internal sealed class LlamaSharpSampler(double temperature, int topK, double topP, ulong seed)
{
    private ulong _state = seed;

    /// <summary>Gets the SplitMix64 seed of an item: the run's seed and the item's mixed.</summary>
    public static ulong ItemSeed(long runSeed, long itemSeed) => Mix(Mix((ulong)runSeed) ^ (ulong)itemSeed);

    /// <summary>Returns the chosen token id. Ties go to the smaller id, so the choice is reproducible.</summary>
    public int Next(ReadOnlySpan<float> logits)
    {
        if (temperature == 0)
        {
            return ArgMax(logits);
        }
        // Candidates sorted by logit (descending, smaller id first on ties), cut to top-k.
        var count = topK > 0 ? Math.Min(topK, logits.Length) : logits.Length;
        var ids = TopIds(logits, count);
        var max = logits[ids[0]];
        var weights = new double[count];
        double total = 0;
        for (var i = 0; i < count; i++)
        {
            weights[i] = Math.Exp((logits[ids[i]] - max) / temperature);
            total += weights[i];
        }
        if (topP < 1)
        {
            // Keep the shortest prefix whose probability reaches top_p (at least one token).
            double mass = 0;
            var keep = 0;
            while (keep < count)
            {
                mass += weights[keep] / total;
                keep++;
                if (mass >= topP)
                {
                    break;
                }
            }
            count = keep;
            total = weights.AsSpan(0, count).ToArray().Sum();
        }
        var draw = NextDouble() * total;
        double cumulative = 0;
        for (var i = 0; i < count; i++)
        {
            cumulative += weights[i];
            if (draw < cumulative)
            {
                return ids[i];
            }
        }
        return ids[count - 1];
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }
        return best;
    }

    private static int[] TopIds(ReadOnlySpan<float> logits, int count)
    {
        // The count-th largest logit by selection (O(V)), then only the candidates are sorted: a full
        // sort of a 50k vocabulary per token would cost more than the model's step at small widths.
        var values = logits.ToArray();
        var threshold = Select(values, count - 1);
        var ids = new List<int>(count + 8);
        for (var i = 0; i < logits.Length; i++)
        {
            if (logits[i] > threshold)
            {
                ids.Add(i);
            }
        }
        for (var i = 0; i < logits.Length && ids.Count < count; i++)
        {
            if (logits[i] == threshold)
            {
                ids.Add(i);
            }
        }
        var keys = logits.ToArray();
        // Sorting by (-logit, id) gives a total order, so equal logits never depend on sort stability.
        ids.Sort((a, b) => keys[a] != keys[b] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
        return [.. ids];
    }

    // The value that would stand at index k (0-based) if values were sorted descending (Hoare's quickselect; reorders values).
    private static float Select(float[] values, int k)
    {
        int left = 0, right = values.Length - 1;
        while (left < right)
        {
            var pivot = values[left + (right - left) / 2];
            int i = left, j = right;
            while (i <= j)
            {
                while (values[i] > pivot)
                {
                    i++;
                }
                while (values[j] < pivot)
                {
                    j--;
                }
                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }
            if (k <= j)
            {
                right = j;
            }
            else if (k >= i)
            {
                left = i;
            }
            else
            {
                return values[k];
            }
        }
        return values[k];
    }

    private double NextDouble()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return (Mix(_state) >> 11) * (1.0 / (1UL << 53));
    }

    // SplitMix64's output function: a bijective mix of 64 bits.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
