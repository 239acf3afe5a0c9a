namespace Skim.Models.Encoders;

/// <summary>Progress of <see cref="EmbeddingJob"/>, reported after every batch.</summary>
/// <param name="RowsDone">Rows embedded and written so far.</param>
/// <param name="TotalRows">Rows the output will hold.</param>
/// <param name="Elapsed">Wall time since the job started (model loading included).</param>
public sealed record EmbeddingProgress(long RowsDone, long TotalRows, TimeSpan Elapsed);
