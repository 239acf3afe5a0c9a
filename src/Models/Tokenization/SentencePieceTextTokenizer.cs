using Microsoft.ML.Tokenizers;
using Skim.Core;

namespace Skim.Models.Tokenization;

/// <summary>
/// A SentencePiece <c>tokenizer.model</c> (Llama-2, Mistral) through Microsoft.ML.Tokenizers'
/// SentencePiece support; BOS/EOS around a sequence follow <c>add_bos_token</c>/<c>add_eos_token</c>
/// (Llama's defaults: BOS only).
/// </summary>
public sealed class SentencePieceTextTokenizer : ITextTokenizer
{
    private readonly SentencePieceTokenizer _model;
    private readonly Dictionary<int, string> _tokensById;

    private SentencePieceTextTokenizer(SentencePieceTokenizer model, bool addBos, bool addEos, SpecialTokenNames names, string source)
    {
        _model = model;
        _tokensById = model.Vocabulary.GroupBy(p => p.Value).ToDictionary(g => g.Key, g => g.First().Key);
        VocabularySize = _tokensById.Count == 0 ? 0 : _tokensById.Keys.Max() + 1;
        int? Resolve(string? token, int? fallback, int? modelId, string role) =>
            token is not null
                ? TokenToId(token) ?? throw new SkimFormatException(source, null, $"the {role} token '{token}' is not in the model's vocabulary")
                : fallback ?? modelId;
        Special = new SpecialTokenIds
        {
            Bos = Resolve(names.Bos, names.BosId, model.BeginningOfSentenceId, "bos"),
            Eos = Resolve(names.Eos, names.EosId, model.EndOfSentenceId, "eos"),
            Pad = Resolve(names.Pad, names.PadId, null, "pad"),
            Unk = Resolve(names.Unk, null, model.UnknownId, "unk"),
        };
        PrefixIds = addBos && Special.Bos is { } bos ? [bos] : [];
        SuffixIds = addEos && Special.Eos is { } eos ? [eos] : [];
    }

    /// <inheritdoc />
    public TokenizerKind Kind => TokenizerKind.SentencePiece;

    /// <inheritdoc />
    public int VocabularySize { get; }

    /// <inheritdoc />
    public SpecialTokenIds Special { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> PrefixIds { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> SuffixIds { get; }

    /// <summary>Reads a SentencePiece model file (BPE or Unigram protobuf).</summary>
    public static SentencePieceTextTokenizer FromModelFile(string modelPath, bool addBos = true, bool addEos = false, SpecialTokenNames? names = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        SentencePieceTokenizer model;
        using var stream = File.OpenRead(modelPath);
        try
        {
            model = SentencePieceTokenizer.Create(stream, false, false);
        }
        catch (Exception e)
        {
            // The library reports protobuf problems with its own exception types; name the file.
            throw new SkimFormatException(modelPath, null, $"not a readable SentencePiece model ({e.GetType().Name}: {e.Message})");
        }
        return new SentencePieceTextTokenizer(model, addBos, addEos, names ?? new SpecialTokenNames(), modelPath);
    }

    /// <inheritdoc />
    public IReadOnlyList<int> EncodeWithoutSpecialTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _model.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _model.Decode(ids, considerSpecialTokens: !skipSpecialTokens) ?? "";
    }

    /// <inheritdoc />
    public int? TokenToId(string token) => _model.Vocabulary.TryGetValue(token, out var id) ? id : null;

    /// <inheritdoc />
    public string? IdToToken(int id) => _tokensById.TryGetValue(id, out var token) ? token : null;
}
