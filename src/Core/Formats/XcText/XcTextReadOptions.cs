namespace Skim.Core.Formats.XcText;

/// <summary>How the column indices of an XC sparse text file are numbered.</summary>
public enum XcIndexBase
{
    /// <summary>Indices start at 0 (the XC repository's convention); a negative index is an error.</summary>
    Zero,

    /// <summary>Indices start at 1; index 0 is an error and 1 is subtracted from every index.</summary>
    One,

    /// <summary>
    /// pyxclib's <c>zero_based="auto"</c>: 1 is subtracted from every index when the smallest index
    /// in the file is above 0. Risky for label files in which label 0 happens not to occur.
    /// </summary>
    Auto,
}

/// <summary>Options for <see cref="XcSparseText.Read(string, XcTextReadOptions?)"/>.</summary>
public sealed record XcTextReadOptions
{
    /// <summary>Gets the default options: strict, 0-based.</summary>
    public static XcTextReadOptions Default { get; } = new();

    /// <summary>
    /// Gets whether indices in a row must be strictly increasing (pyxclib's <c>safe_read=True</c>).
    /// When false (pyxclib's COO path) rows may be unsorted and duplicate indices are summed.
    /// Defaults to true.
    /// </summary>
    public bool Strict { get; init; } = true;

    /// <summary>Gets how indices are numbered. Defaults to <see cref="XcIndexBase.Zero"/>.</summary>
    public XcIndexBase IndexBase { get; init; } = XcIndexBase.Zero;
}
