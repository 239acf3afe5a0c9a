namespace Skim.Models.Tokenization;

/// <summary>
/// A tokenizer loaded from a model's files: text to ids and back, with the special tokens the model
/// family adds around one sequence. Implementations are immutable and safe to share across threads.
/// </summary>
public interface ITextTokenizer
{
    /// <summary>Gets the algorithm.</summary>
    TokenizerKind Kind { get; }

    /// <summary>Gets the number of ids (the largest id plus one, added tokens included).</summary>
    int VocabularySize { get; }

    /// <summary>Gets the special token ids.</summary>
    SpecialTokenIds Special { get; }

    /// <summary>Gets the ids put before a sequence when special tokens are added (BERT: <c>[CLS]</c>; Llama: BOS).</summary>
    IReadOnlyList<int> PrefixIds { get; }

    /// <summary>Gets the ids put after a sequence when special tokens are added (BERT: <c>[SEP]</c>).</summary>
    IReadOnlyList<int> SuffixIds { get; }

    /// <summary>Tokenizes <paramref name="text"/> without adding the prefix/suffix special tokens.</summary>
    IReadOnlyList<int> EncodeWithoutSpecialTokens(string text);

    /// <summary>Turns ids back into text; special tokens are dropped when <paramref name="skipSpecialTokens"/> is true.</summary>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);

    /// <summary>Gets the id of <paramref name="token"/> (in the vocabulary's spelling), or null.</summary>
    int? TokenToId(string token);

    /// <summary>Gets the token (in the vocabulary's spelling) of <paramref name="id"/>, or null when out of range.</summary>
    string? IdToToken(int id);
}
