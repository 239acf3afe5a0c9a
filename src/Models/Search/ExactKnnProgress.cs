namespace Skim.Models.Search;

/// <summary>How far an <see cref="ExactKnn"/> search has come.</summary>
/// <param name="QueriesDone">Query rows whose neighbours are final.</param>
/// <param name="QueryCount">All query rows.</param>
public readonly record struct ExactKnnProgress(long QueriesDone, long QueryCount);
