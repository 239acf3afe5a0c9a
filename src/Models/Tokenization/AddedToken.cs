namespace Skim.Models.Tokenization;

/// <summary>
/// A token matched verbatim in the text before BPE runs (tokenizer.json's <c>added_tokens</c>,
/// e.g. <c>&lt;|endoftext|&gt;</c>); special ones are dropped when decoding with skipping.
/// </summary>
/// <param name="Content">The exact text of the token.</param>
/// <param name="Id">Its id.</param>
/// <param name="Special">Whether it is a special (control) token.</param>
public sealed record AddedToken(string Content, int Id, bool Special);
