namespace Skim.XcTrain.Sampling;

/// <summary>The random draws the negative samplers share, all from a caller's <see cref="Random"/> so runs replay from a seed.</summary>
internal static class RandomDraws
{
    /// <summary>
    /// Draws min(<paramref name="count"/>, available) distinct labels uniformly from
    /// [0, <paramref name="numLabels"/>) minus <paramref name="exclude"/>, in draw order.
    /// </summary>
    public static int[] UniformDistinct(int count, int numLabels, IReadOnlySet<int> exclude, Random random)
    {
        var excluded = 0;
        foreach (var y in exclude)
        {
            if ((uint)y < (uint)numLabels)
            {
                excluded++;
            }
        }
        var available = numLabels - excluded;
        var take = Math.Min(count, available);
        if (take <= 0)
        {
            return [];
        }
        if (take * 2L > available)
        {
            // Dense request: a partial Fisher-Yates over the allowed labels, as rejection would stall.
            var pool = new int[available];
            var n = 0;
            for (var y = 0; y < numLabels; y++)
            {
                if (!exclude.Contains(y))
                {
                    pool[n++] = y;
                }
            }
            for (var i = 0; i < take; i++)
            {
                var j = random.Next(i, available);
                (pool[i], pool[j]) = (pool[j], pool[i]);
            }
            return pool[..take];
        }
        var picked = new HashSet<int>(take);
        var result = new int[take];
        for (var n = 0; n < take;)
        {
            var y = random.Next(numLabels);
            if (!exclude.Contains(y) && picked.Add(y))
            {
                result[n++] = y;
            }
        }
        return result;
    }

    /// <summary>Draws from Beta(<paramref name="alpha"/>, <paramref name="beta"/>) as X / (X + Y) with X, Y Gamma-distributed.</summary>
    public static double Beta(Random random, double alpha, double beta)
    {
        if (alpha == 1 && beta == 1)
        {
            return random.NextDouble();
        }
        var x = Gamma(random, alpha);
        var y = Gamma(random, beta);
        return x + y > 0 ? x / (x + y) : 0.5;
    }

    /// <summary>Draws from Gamma(<paramref name="shape"/>, 1) by Marsaglia and Tsang (2000), boosted for shape below 1.</summary>
    public static double Gamma(Random random, double shape)
    {
        if (shape < 1)
        {
            // Gamma(a) = Gamma(a + 1) · U^(1/a).
            var u = 1 - random.NextDouble();
            return Gamma(random, shape + 1) * Math.Pow(u, 1 / shape);
        }
        var d = shape - (1.0 / 3);
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x;
            double v;
            do
            {
                x = Normal(random);
                v = 1 + (c * x);
            }
            while (v <= 0);
            v = v * v * v;
            var u = 1 - random.NextDouble();
            if (u < 1 - (0.0331 * x * x * x * x) || Math.Log(u) < (0.5 * x * x) + (d * (1 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }

    // Box-Muller, one value per call so the stream of draws stays simple to replay.
    private static double Normal(Random random)
    {
        var u1 = 1 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
