using Skim.Models.Tokenization;

namespace Skim.Models.Tests.Generation;

/// <summary>A test tokenizer over the tiny model's 128 ids: id 1 is BOS, 2 is EOS, id n ≥ 3 is the character (char)('!' + n − 3).</summary>
internal sealed class CharacterTokenizer : ITextTokenizer
{
    public TokenizerKind Kind => TokenizerKind.ByteLevelBpe;

    public int VocabularySize => 128;

    public SpecialTokenIds Special { get; } = new() { Bos = 1, Eos = 2, Pad = 0 };

    public IReadOnlyList<int> PrefixIds { get; } = [1];

    public IReadOnlyList<int> SuffixIds { get; } = [];

    public IReadOnlyList<int> EncodeWithoutSpecialTokens(string text) => [.. text.Select(c => c - '!' + 3)];

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true) =>
        string.Concat(ids.Where(id => !skipSpecialTokens || id >= 3).Select(id => id >= 3 ? (char)('!' + id - 3) : '?'));

    public int? TokenToId(string token) => token.Length == 1 ? token[0] - '!' + 3 : null;

    public string? IdToToken(int id) => id is >= 3 and < 128 ? ((char)('!' + id - 3)).ToString() : null;
}
