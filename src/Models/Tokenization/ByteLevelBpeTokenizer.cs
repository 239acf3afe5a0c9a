using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Skim.Core;

namespace Skim.Models.Tokenization;

/// <summary>
/// Byte-level BPE as GPT-2, Llama-3, Qwen2 and SmolLM use it: added tokens are matched verbatim,
/// the rest is split by the family's pre-tokenizer regexes, each piece's UTF-8 bytes are written in
/// GPT-2's byte alphabet, and Microsoft.ML.Tokenizers' BPE applies the merges.
/// </summary>
public sealed class ByteLevelBpeTokenizer : ITextTokenizer
{
    private const string Gpt2EndOfText = "<|endoftext|>";

    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly string?[] _tokensById;
    private readonly Regex[] _preTokenizers;
    private readonly AddedToken[] _addedTokens;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly bool _addPrefixSpace;
    private readonly bool _ignoreMerges;
    private readonly bool _normalizeNfc;

    private ByteLevelBpeTokenizer(Dictionary<string, int> vocabulary, IEnumerable<string> merges, ByteLevelBpeSettings settings, string source)
    {
        _vocabulary = vocabulary;
        _addedTokens = [.. settings.AddedTokens.OrderByDescending(t => t.Content.Length)];
        _addedById = settings.AddedTokens.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First());
        var size = Math.Max(vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1, _addedById.Count == 0 ? 0 : _addedById.Keys.Max() + 1);
        _tokensById = new string?[size];
        foreach (var (token, id) in vocabulary)
        {
            if (id < 0)
            {
                throw new SkimFormatException(source, $"token '{token}'", $"negative id {id}");
            }
            _tokensById[id] = token;
        }
        _preTokenizers = [.. settings.PreTokenizerPatterns.Select(p => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.Compiled))];
        _addPrefixSpace = settings.AddPrefixSpace;
        _ignoreMerges = settings.IgnoreMerges;
        _normalizeNfc = settings.NormalizeNfc;
        _bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges,
            // Bytes are mapped to GPT-2's alphabet here, so the library sees alphabet characters only.
            ByteLevel = false,
        });
        Special = ResolveSpecials(settings.SpecialTokens, source);
        PrefixIds = [.. settings.PrefixTokens.Select(t => Require(t, "prefix", source))];
        SuffixIds = [.. settings.SuffixTokens.Select(t => Require(t, "suffix", source))];
    }

    /// <inheritdoc />
    public TokenizerKind Kind => TokenizerKind.ByteLevelBpe;

    /// <inheritdoc />
    public int VocabularySize => _tokensById.Length;

    /// <inheritdoc />
    public SpecialTokenIds Special { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> PrefixIds { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> SuffixIds { get; }

    /// <summary>Reads GPT-2-style <c>vocab.json</c> (token → id) and <c>merges.txt</c> (one "a b" pair per line, by rank).</summary>
    public static ByteLevelBpeTokenizer FromFiles(string vocabJsonPath, string mergesPath, ByteLevelBpeSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(vocabJsonPath);
        ArgumentNullException.ThrowIfNull(mergesPath);
        var vocabulary = HfJson.ReadVocabulary(vocabJsonPath);
        var merges = new List<string>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(mergesPath, Encoding.UTF8))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }
            if (line.Split(' ').Length != 2)
            {
                throw new SkimFormatException(mergesPath, $"line {lineNumber}", $"expected two tokens separated by one space, found '{line}'");
            }
            merges.Add(line);
        }
        settings ??= new ByteLevelBpeSettings();
        if (settings.AddedTokens.Count == 0 && vocabulary.TryGetValue(Gpt2EndOfText, out var endOfText))
        {
            // A bare GPT-2 vocabulary: HF's GPT2Tokenizer treats <|endoftext|> as BOS, EOS and UNK.
            settings = settings with
            {
                AddedTokens = [new AddedToken(Gpt2EndOfText, endOfText, true)],
                SpecialTokens = settings.SpecialTokens with
                {
                    Bos = settings.SpecialTokens.Bos ?? Gpt2EndOfText,
                    Eos = settings.SpecialTokens.Eos ?? Gpt2EndOfText,
                    Unk = settings.SpecialTokens.Unk ?? Gpt2EndOfText,
                },
            };
        }
        return new ByteLevelBpeTokenizer(vocabulary, merges, settings, vocabJsonPath);
    }

    /// <summary>Creates the tokenizer from an in-memory vocabulary and merges ("a b" strings, by rank).</summary>
    public static ByteLevelBpeTokenizer Create(IReadOnlyDictionary<string, int> vocabulary, IEnumerable<string> merges, ByteLevelBpeSettings settings, string source = "tokenizer")
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(merges);
        ArgumentNullException.ThrowIfNull(settings);
        return new ByteLevelBpeTokenizer(new Dictionary<string, int>(vocabulary, StringComparer.Ordinal), merges, settings, source);
    }

    /// <inheritdoc />
    public IReadOnlyList<int> EncodeWithoutSpecialTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (_addPrefixSpace && text.Length > 0 && text[0] != ' ')
        {
            text = " " + text;
        }
        var start = 0;
        while (start < text.Length)
        {
            var (at, added) = NextAdded(text, start);
            var end = at < 0 ? text.Length : at;
            if (end > start)
            {
                EncodeSegment(text.AsSpan(start, end - start), ids);
            }
            if (added is null)
            {
                break;
            }
            ids.Add(added.Id);
            start = at + added.Content.Length;
        }
        return ids;
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (_addedById.TryGetValue(id, out var added))
            {
                if (!(skipSpecialTokens && added.Special))
                {
                    bytes.AddRange(Encoding.UTF8.GetBytes(added.Content));
                }
                continue;
            }
            var token = IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), id, "id outside the vocabulary");
            if (!ByteLevelAlphabet.TryDecode(token, bytes))
            {
                // Not written in the byte alphabet (a hand-added token): its text is itself.
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
            }
        }
        // Invalid UTF-8 (a sequence cut inside a character) becomes U+FFFD, as HF's errors="replace".
        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <inheritdoc />
    public int? TokenToId(string token) =>
        _vocabulary.TryGetValue(token, out var id) ? id
        : _addedTokens.FirstOrDefault(t => t.Content == token)?.Id;

    /// <inheritdoc />
    public string? IdToToken(int id) =>
        _addedById.TryGetValue(id, out var added) ? added.Content
        : (uint)id < (uint)_tokensById.Length ? _tokensById[id] : null;

    private void EncodeSegment(ReadOnlySpan<char> segment, List<int> ids)
    {
        if (_normalizeNfc && !segment.IsNormalized(NormalizationForm.FormC))
        {
            segment = segment.ToString().Normalize(NormalizationForm.FormC);
        }
        List<(int Start, int Length)> pieces = [(0, segment.Length)];
        foreach (var regex in _preTokenizers)
        {
            var next = new List<(int Start, int Length)>(pieces.Count * 2);
            foreach (var (start, length) in pieces)
            {
                SplitIsolated(regex, segment.Slice(start, length), start, next);
            }
            pieces = next;
        }
        foreach (var (start, length) in pieces)
        {
            var mapped = ByteLevelAlphabet.Encode(segment.Slice(start, length));
            if (_ignoreMerges && _vocabulary.TryGetValue(mapped, out var whole))
            {
                ids.Add(whole);
                continue;
            }
            ids.AddRange(_bpe.EncodeToIds(mapped, considerPreTokenization: false, considerNormalization: false));
        }
    }

    // HF Split(behavior=Isolated): every match is a piece and so is every stretch between matches.
    private static void SplitIsolated(Regex regex, ReadOnlySpan<char> text, int offset, List<(int Start, int Length)> pieces)
    {
        var last = 0;
        foreach (var match in regex.EnumerateMatches(text))
        {
            if (match.Length == 0)
            {
                continue;
            }
            if (match.Index > last)
            {
                pieces.Add((offset + last, match.Index - last));
            }
            pieces.Add((offset + match.Index, match.Length));
            last = match.Index + match.Length;
        }
        if (last < text.Length)
        {
            pieces.Add((offset + last, text.Length - last));
        }
    }

    private (int At, AddedToken? Token) NextAdded(string text, int start)
    {
        var best = (At: -1, Token: (AddedToken?)null);
        // Longest first, so at one position the longest added token wins.
        foreach (var token in _addedTokens)
        {
            var at = text.IndexOf(token.Content, start, StringComparison.Ordinal);
            if (at >= 0 && (best.At < 0 || at < best.At))
            {
                best = (at, token);
            }
        }
        return best;
    }

    private int Require(string token, string role, string source) =>
        TokenToId(token) ?? throw new SkimFormatException(source, null, $"the {role} token '{token}' is neither in the vocabulary nor an added token");

    private SpecialTokenIds ResolveSpecials(SpecialTokenNames names, string source)
    {
        int? Resolve(string? token, int? fallbackId, string role) =>
            token is null ? fallbackId : Require(token, role, source);
        return new SpecialTokenIds
        {
            Bos = Resolve(names.Bos, names.BosId, "bos"),
            Eos = Resolve(names.Eos, names.EosId, "eos"),
            Pad = Resolve(names.Pad, names.PadId, "pad"),
            Unk = Resolve(names.Unk, null, "unk"),
        };
    }
}
