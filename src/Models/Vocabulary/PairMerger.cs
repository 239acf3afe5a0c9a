namespace Skim.Models.Vocabulary;

/// <summary>
/// The merge-learning loop shared by the WordPiece and byte-level BPE vocabulary builders (HF's
/// WordPiece trainer is its BPE trainer with a <c>##</c> continuation prefix): words are sequences
/// of symbols with a corpus count; the most frequent adjacent pair is merged into a new symbol,
/// again and again, until the caller's budget is spent or no pair is frequent enough.
/// </summary>
/// <remarks>
/// Written here because Microsoft.ML.Tokenizers (the tokenizer library the project uses) applies
/// BPE/WordPiece vocabularies but has no trainer. Ties are broken by the left symbol, then the
/// right symbol, in ordinal order, so the result depends on the corpus only, never on hash order.
/// Pair counts are kept up to date incrementally and ranked in a sorted set, so one merge costs
/// time in proportion to the words that contain the pair, not to the whole corpus.
/// </remarks>
internal sealed class PairMerger
{
    private readonly List<string> _symbols = [];
    private readonly Dictionary<string, int> _symbolIds = new(StringComparer.Ordinal);
    private readonly List<int>[] _words;
    private readonly long[] _counts;
    private readonly Dictionary<long, long> _pairCounts = [];
    private readonly Dictionary<long, HashSet<int>> _pairWords = [];
    private readonly SortedSet<RankedPair> _ranking;

    /// <summary>Prepares the words (symbol sequences with counts) for merging.</summary>
    public PairMerger(IReadOnlyList<(IReadOnlyList<string> Symbols, long Count)> words)
    {
        _ranking = new SortedSet<RankedPair>(new RankComparer(_symbols));
        _words = new List<int>[words.Count];
        _counts = new long[words.Count];
        for (var w = 0; w < words.Count; w++)
        {
            _words[w] = [.. words[w].Symbols.Select(SymbolId)];
            _counts[w] = words[w].Count;
            AddPairs(w);
        }
    }

    /// <summary>
    /// Returns the next merge — the most frequent pair, ties broken by ordinal order of its symbols —
    /// applies it to every word, and names the merged symbol with <paramref name="join"/>; or returns
    /// null when no pair occurs at least <paramref name="minFrequency"/> times.
    /// </summary>
    public (string Left, string Right, string Merged)? MergeNext(Func<string, string, string> join, long minFrequency)
    {
        if (_ranking.Count == 0)
        {
            return null;
        }
        var best = _ranking.Max;
        if (best.Count < minFrequency)
        {
            return null;
        }
        var (left, right) = Unpack(best.Pair);
        var merged = join(_symbols[left], _symbols[right]);
        var mergedId = SymbolId(merged);
        foreach (var w in _pairWords[best.Pair].Order().ToList())
        {
            RemovePairs(w);
            _words[w] = Replace(_words[w], left, right, mergedId);
            AddPairs(w);
        }
        return (_symbols[left], _symbols[right], merged);
    }

    private static List<int> Replace(List<int> word, int left, int right, int merged)
    {
        var result = new List<int>(word.Count);
        for (var i = 0; i < word.Count; i++)
        {
            if (i + 1 < word.Count && word[i] == left && word[i + 1] == right)
            {
                result.Add(merged);
                i++;
            }
            else
            {
                result.Add(word[i]);
            }
        }
        return result;
    }

    private void AddPairs(int w) => UpdatePairs(w, _counts[w]);

    private void RemovePairs(int w) => UpdatePairs(w, -_counts[w]);

    private void UpdatePairs(int w, long delta)
    {
        var word = _words[w];
        for (var i = 0; i + 1 < word.Count; i++)
        {
            var pair = Pack(word[i], word[i + 1]);
            var old = _pairCounts.GetValueOrDefault(pair);
            if (old > 0)
            {
                _ranking.Remove(new RankedPair(old, pair));
            }
            var updated = old + delta;
            if (updated > 0)
            {
                _pairCounts[pair] = updated;
                _ranking.Add(new RankedPair(updated, pair));
            }
            else
            {
                _pairCounts.Remove(pair);
            }
            if (!_pairWords.TryGetValue(pair, out var where))
            {
                where = [];
                _pairWords[pair] = where;
            }
            if (delta > 0)
            {
                where.Add(w);
            }
            else
            {
                where.Remove(w);
            }
        }
    }

    private int SymbolId(string symbol)
    {
        if (!_symbolIds.TryGetValue(symbol, out var id))
        {
            id = _symbols.Count;
            _symbols.Add(symbol);
            _symbolIds[symbol] = id;
        }
        return id;
    }

    private static long Pack(int left, int right) => ((long)left << 32) | (uint)right;

    private static (int Left, int Right) Unpack(long pair) => ((int)(pair >> 32), (int)(pair & 0xFFFFFFFF));

    private readonly record struct RankedPair(long Count, long Pair);

    // Ascending order whose maximum is the pair to merge: the higher count, then the ordinally
    // smaller left symbol, then the smaller right symbol.
    private sealed class RankComparer(List<string> symbols) : IComparer<RankedPair>
    {
        public int Compare(RankedPair x, RankedPair y)
        {
            var byCount = x.Count.CompareTo(y.Count);
            if (byCount != 0)
            {
                return byCount;
            }
            var (xl, xr) = Unpack(x.Pair);
            var (yl, yr) = Unpack(y.Pair);
            var byLeft = string.CompareOrdinal(symbols[yl], symbols[xl]);
            return byLeft != 0 ? byLeft : string.CompareOrdinal(symbols[yr], symbols[xr]);
        }
    }
}
