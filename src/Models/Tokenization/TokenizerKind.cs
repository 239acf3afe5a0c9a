namespace Skim.Models.Tokenization;

/// <summary>The tokenization algorithm behind an <see cref="ITextTokenizer"/>.</summary>
public enum TokenizerKind
{
    /// <summary>BERT-style WordPiece from <c>vocab.txt</c> (or a WordPiece <c>tokenizer.json</c>).</summary>
    WordPiece,

    /// <summary>GPT-2-style byte-level BPE from <c>vocab.json</c> + <c>merges.txt</c> or <c>tokenizer.json</c>.</summary>
    ByteLevelBpe,

    /// <summary>SentencePiece model from <c>tokenizer.model</c> (Llama-2, Mistral).</summary>
    SentencePiece,
}
