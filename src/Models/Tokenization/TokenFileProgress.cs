namespace Skim.Models.Tokenization;

/// <summary>Progress of <see cref="TokenFileWriter"/>: rows written out of the total.</summary>
/// <param name="RowsWritten">Rows written so far.</param>
/// <param name="TotalRows">Rows the files will hold.</param>
public sealed record TokenFileProgress(long RowsWritten, long TotalRows);
