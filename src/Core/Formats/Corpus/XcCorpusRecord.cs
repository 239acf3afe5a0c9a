namespace Skim.Core.Formats.Corpus;

/// <summary>
/// One line of an XC-repository corpus (<c>trn.json.gz</c>, <c>tst.json.gz</c>, <c>lbl.json.gz</c>),
/// with the keys of pyxclib's <c>write_corpus</c>.
/// </summary>
/// <param name="Uid">The item's id in its source (a string; numeric ids are kept as their text).</param>
/// <param name="Title">The title ("" when absent).</param>
/// <param name="Content">The body text ("" when absent).</param>
/// <param name="TargetInd">The 0-based ids of the item's labels (empty for label records).</param>
/// <param name="TargetRel">The relevance of each label, parallel to <paramref name="TargetInd"/> (1.0 when unknown).</param>
public sealed record XcCorpusRecord(string Uid, string Title, string Content, int[] TargetInd, float[] TargetRel)
{
    /// <summary>Creates a record with a title only and no labels (a label record, or a raw text).</summary>
    public static XcCorpusRecord FromText(string uid, string title) => new(uid, title, "", [], []);

    /// <summary>
    /// Gets the text a model sees: the title and content joined by one space, as NGAME's
    /// <c>extract_text_and_labels.py</c> builds it for full-text datasets, or whichever of the two is
    /// not empty. Nothing is trimmed, so a text stored as a title reads back unchanged.
    /// </summary>
    public string Text => Content.Length == 0 ? Title : Title.Length == 0 ? Content : $"{Title} {Content}";
}
