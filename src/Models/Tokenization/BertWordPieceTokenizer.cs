using System.Text;
using Microsoft.ML.Tokenizers;
using Skim.Core;

namespace Skim.Models.Tokenization;

/// <summary>
/// BERT/DistilBERT WordPiece tokenization that matches Hugging Face's <c>BertTokenizerFast</c>:
/// HF's basic step (<see cref="BertBasicTokenizer"/>), then Microsoft.ML.Tokenizers' greedy
/// longest-match-first WordPiece with <c>##</c> continuations, words over 100 characters and words
/// with no full split becoming <c>[UNK]</c>. A sequence is <c>[CLS] … [SEP]</c>.
/// </summary>
public sealed class BertWordPieceTokenizer : ITextTokenizer
{
    /// <summary>HF's <c>max_input_chars_per_word</c>: longer words become <c>[UNK]</c>.</summary>
    public const int MaxCharsPerWord = 100;

    private const string ContinuationPrefix = "##";

    private readonly WordPieceTokenizer _wordPiece;
    private readonly BertBasicTokenizer _basic;
    private readonly string[] _vocabulary;
    private readonly Dictionary<string, int> _ids;
    private readonly (string Token, int Id)[] _specialTokens;
    private readonly HashSet<int> _specialIds;
    private readonly int _unkId;

    private BertWordPieceTokenizer(string[] vocabulary, BertWordPieceSettings settings, string source)
    {
        _vocabulary = vocabulary;
        _ids = new Dictionary<string, int>(vocabulary.Length, StringComparer.Ordinal);
        for (var i = 0; i < vocabulary.Length; i++)
        {
            // HF's load_vocab keeps the last line for a repeated token; so do we.
            _ids[vocabulary[i]] = i;
        }
        int Require(string token, string role) => _ids.TryGetValue(token, out var id)
            ? id
            : throw new SkimFormatException(source, null, $"the {role} token '{token}' is not in the vocabulary");
        _unkId = Require(settings.UnkToken, "unknown");
        Special = new SpecialTokenIds
        {
            Unk = _unkId,
            Cls = Require(settings.ClsToken, "classification"),
            Sep = Require(settings.SepToken, "separator"),
            Pad = Require(settings.PadToken, "padding"),
            Mask = _ids.TryGetValue(settings.MaskToken, out var mask) ? mask : null,
        };
        PrefixIds = [Special.Cls!.Value];
        SuffixIds = [Special.Sep!.Value];
        _specialTokens = new[] { settings.ClsToken, settings.SepToken, settings.PadToken, settings.UnkToken, settings.MaskToken }
            .Where(_ids.ContainsKey)
            .Distinct(StringComparer.Ordinal)
            .Select(t => (t, _ids[t]))
            .ToArray();
        _specialIds = [.. _specialTokens.Select(t => t.Id)];
        LowerCase = settings.LowerCase;
        _basic = new BertBasicTokenizer(settings.LowerCase, settings.StripAccents, settings.SplitCjk);
        using var vocabStream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', vocabulary) + "\n"));
        _wordPiece = WordPieceTokenizer.Create(vocabStream, new WordPieceOptions
        {
            UnknownToken = settings.UnkToken,
            ContinuingSubwordPrefix = ContinuationPrefix,
            // Our own check below counts code points as HF does; the library only sees shorter words.
            MaxInputCharsPerWord = 4 * MaxCharsPerWord,
        });
    }

    /// <inheritdoc />
    public TokenizerKind Kind => TokenizerKind.WordPiece;

    /// <inheritdoc />
    public int VocabularySize => _vocabulary.Length;

    /// <inheritdoc />
    public SpecialTokenIds Special { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> PrefixIds { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> SuffixIds { get; }

    /// <summary>Gets whether text is lower-cased (an uncased vocabulary).</summary>
    public bool LowerCase { get; }

    /// <summary>Reads a <c>vocab.txt</c> (one token per line, id = line number from 0).</summary>
    public static BertWordPieceTokenizer FromVocabFile(string vocabPath, BertWordPieceSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(vocabPath);
        var lines = new List<string>();
        using (var reader = new StreamReader(vocabPath, new UTF8Encoding(false, throwOnInvalidBytes: true)))
        {
            try
            {
                while (reader.ReadLine() is { } line)
                {
                    // HF strips the line end only (rstrip("\n")); \r of a CRLF file goes too.
                    lines.Add(line.TrimEnd('\r'));
                }
            }
            catch (DecoderFallbackException e)
            {
                throw new SkimFormatException(vocabPath, $"line {lines.Count + 1}", $"not UTF-8 ({e.Message})");
            }
        }
        if (lines.Count == 0)
        {
            throw new SkimFormatException(vocabPath, null, "empty vocabulary");
        }
        return new BertWordPieceTokenizer([.. lines], settings ?? new BertWordPieceSettings(), vocabPath);
    }

    /// <summary>Creates the tokenizer from tokens in id order (for vocabularies taken from <c>tokenizer.json</c> or built in memory).</summary>
    public static BertWordPieceTokenizer FromTokens(IReadOnlyList<string> tokensById, BertWordPieceSettings? settings = null, string source = "vocabulary")
    {
        ArgumentNullException.ThrowIfNull(tokensById);
        if (tokensById.Count == 0)
        {
            throw new SkimFormatException(source, null, "empty vocabulary");
        }
        return new BertWordPieceTokenizer([.. tokensById], settings ?? new BertWordPieceSettings(), source);
    }

    /// <summary>Splits text into WordPiece tokens (vocabulary spelling), without <c>[CLS]</c>/<c>[SEP]</c>.</summary>
    public IReadOnlyList<string> Tokenize(string text) =>
        [.. EncodeWithoutSpecialTokens(text).Select(id => _vocabulary[id])];

    /// <inheritdoc />
    public IReadOnlyList<int> EncodeWithoutSpecialTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 4 + 4);
        var words = new List<string>();
        var start = 0;
        // Special tokens typed in the text (e.g. "[MASK]") are matched verbatim first, as HF's
        // added-token splitting does, and never pass through lower-casing or punctuation splits.
        while (start < text.Length)
        {
            var (at, token, id) = NextSpecial(text, start);
            var end = at < 0 ? text.Length : at;
            if (end > start)
            {
                words.Clear();
                _basic.Split(text.AsSpan(start, end - start), words);
                foreach (var word in words)
                {
                    AppendWord(word, ids);
                }
            }
            if (at < 0)
            {
                break;
            }
            ids.Add(id);
            start = at + token.Length;
        }
        return ids;
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var builder = new StringBuilder();
        foreach (var id in ids)
        {
            if (skipSpecialTokens && _specialIds.Contains(id))
            {
                continue;
            }
            var token = IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), id, "id outside the vocabulary");
            if (token.StartsWith(ContinuationPrefix, StringComparison.Ordinal))
            {
                builder.Append(token.AsSpan(ContinuationPrefix.Length));
            }
            else
            {
                if (builder.Length > 0)
                {
                    builder.Append(' ');
                }
                builder.Append(token);
            }
        }
        return CleanUpSpaces(builder.ToString());
    }

    /// <inheritdoc />
    public int? TokenToId(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    /// <inheritdoc />
    public string? IdToToken(int id) => (uint)id < (uint)_vocabulary.Length ? _vocabulary[id] : null;

    private void AppendWord(string word, List<int> ids)
    {
        if (word.EnumerateRunes().Count() > MaxCharsPerWord)
        {
            ids.Add(_unkId);
            return;
        }
        ids.AddRange(_wordPiece.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
    }

    private (int At, string Token, int Id) NextSpecial(string text, int start)
    {
        var best = (At: -1, Token: "", Id: 0);
        foreach (var (token, id) in _specialTokens)
        {
            var at = text.IndexOf(token, start, StringComparison.Ordinal);
            if (at >= 0 && (best.At < 0 || at < best.At || (at == best.At && token.Length > best.Token.Length)))
            {
                best = (at, token, id);
            }
        }
        return best;
    }

    // HF's clean_up_tokenization: re-attach punctuation and English contractions.
    private static string CleanUpSpaces(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);
}
