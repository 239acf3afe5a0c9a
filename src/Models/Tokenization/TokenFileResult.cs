namespace Skim.Models.Tokenization;

/// <summary>What <see cref="TokenFileWriter"/> wrote.</summary>
/// <param name="InputIdsPath">The int64 (Rows, MaxLength) ids file.</param>
/// <param name="AttentionMaskPath">The int64 (Rows, MaxLength) attention-mask file.</param>
/// <param name="Rows">The number of texts.</param>
/// <param name="MaxLength">The row width.</param>
/// <param name="TruncatedRows">Texts that did not fit and were cut.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record TokenFileResult(string InputIdsPath, string AttentionMaskPath, long Rows, int MaxLength, long TruncatedRows, TimeSpan Elapsed);
