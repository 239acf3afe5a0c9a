using Skim.Core;

namespace Skim.Models.Search;

/// <summary>Settings of <see cref="ExactKnn"/>.</summary>
public sealed record ExactKnnOptions
{
    /// <summary>Gets how many neighbours are kept per query (SKIM stores 200 and maps with the first 10). Defaults to 200.</summary>
    public int K { get; init; } = 200;

    /// <summary>
    /// Gets how many query rows are scored at once; memory grows with it (a 2,048 × 8,192 float32 score
    /// block is 64 MB). Larger blocks reload a streamed database less often. Defaults to 2048.
    /// </summary>
    public int QueryBlockSize { get; init; } = 2048;

    /// <summary>
    /// Gets how many database rows are held on the device at once. A database that fits in one block
    /// is loaded once; a larger one is streamed block by block for every query block, and each block's
    /// candidates are merged with the running top-k (SKIM's second-level top-k over shards). At d = 768 a
    /// block of 131,072 rows is 403 MB, so databases up to that size stay loaded. Defaults to 131072.
    /// </summary>
    public int DatabaseBlockSize { get; init; } = 131072;

    /// <summary>Gets the device: <c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. Defaults to auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>
    /// Gets how the running top k is kept. <see cref="KnnSelection.Auto"/> (the default) selects on the
    /// host on CPU and with libtorch's <c>topk</c> on other devices; tests pin either path.
    /// </summary>
    internal KnnSelection Selection { get; init; } = KnnSelection.Auto;

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (K < 1)
        {
            throw new SkimConfigException($"k: expected a positive number of neighbours, found {K}");
        }
        if (QueryBlockSize < 1)
        {
            throw new SkimConfigException($"query_block_size: expected a positive number of rows, found {QueryBlockSize}");
        }
        if (DatabaseBlockSize < 1)
        {
            throw new SkimConfigException($"database_block_size: expected a positive number of rows, found {DatabaseBlockSize}");
        }
    }
}

/// <summary>Where <see cref="ExactKnn"/> selects each block's best candidates.</summary>
internal enum KnnSelection
{
    /// <summary>Host selection on CPU, libtorch's <c>topk</c> on other devices.</summary>
    Auto,

    /// <summary>On the host: threshold scan and per-row heaps (<see cref="RunningTopK"/>).</summary>
    Host,

    /// <summary>libtorch's <c>topk</c> over every score block, on the search's device.</summary>
    TorchTopK,
}
