namespace Skim.Models.Tokenization;

/// <summary>
/// How a byte-level BPE vocabulary is applied: the model family's pre-tokenizer, added tokens and
/// the special tokens put around a sequence. The defaults are GPT-2's.
/// </summary>
public sealed record ByteLevelBpeSettings
{
    /// <summary>GPT-2's pre-tokenizer (also RoBERTa's and SmolLM's after its digit split).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Llama-3's pre-tokenizer: case-insensitive contractions, numbers in groups of up to three.</summary>
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's pre-tokenizer: as Llama-3's but every digit alone.</summary>
    public const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>
    /// Gets the pre-tokenizer as regexes applied in turn, each splitting every piece into its matches
    /// and the text between them (HF's <c>Split</c> with <c>Isolated</c>). Defaults to GPT-2's.
    /// </summary>
    public IReadOnlyList<string> PreTokenizerPatterns { get; init; } = [Gpt2Pattern];

    /// <summary>Gets whether a space is put before the text (HF <c>add_prefix_space</c>). Defaults to false.</summary>
    public bool AddPrefixSpace { get; init; }

    /// <summary>Gets whether text is put in Unicode NFC before pre-tokenization (Qwen2's normalizer). Defaults to false.</summary>
    public bool NormalizeNfc { get; init; }

    /// <summary>Gets whether a piece found whole in the vocabulary skips the merges (Llama-3's <c>ignore_merges</c>). Defaults to false.</summary>
    public bool IgnoreMerges { get; init; }

    /// <summary>Gets the tokens matched verbatim before BPE. Defaults to none.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = [];

    /// <summary>Gets the special token names resolved against the vocabulary. Defaults to none.</summary>
    public SpecialTokenNames SpecialTokens { get; init; } = new();

    /// <summary>Gets the tokens put before a sequence (e.g. Llama-3's <c>&lt;|begin_of_text|&gt;</c>). Defaults to none.</summary>
    public IReadOnlyList<string> PrefixTokens { get; init; } = [];

    /// <summary>Gets the tokens put after a sequence. Defaults to none.</summary>
    public IReadOnlyList<string> SuffixTokens { get; init; } = [];
}
