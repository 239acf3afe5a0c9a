using System.Globalization;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Models.Encoders;

namespace Skim.MapQueries.Step2;

/// <summary>
/// Step-2 (MapQueries): embed the synthetic texts of step-1 and the targets they are matched to
/// (training queries query-side, labels label-side), find each synthetic text's exact nearest
/// targets, and add the confident pairs to the training matrix as <c>trn_X_Y_skim.npz</c>.
/// </summary>
public sealed record Step2Options
{
    /// <summary>Gets the dataset folder (either layout); its observed train matrix is augmented. Required.</summary>
    public required string DatasetDirectory { get; init; }

    /// <summary>Gets the folder holding step-1's <c>raw_rewrites.txt</c> (one synthetic text per line) and <c>start_indices.npy</c>. Required.</summary>
    public required string GenerationsDirectory { get; init; }

    /// <summary>
    /// Gets the encoder: a Hugging Face BERT/DistilBERT folder (config.json, weights, tokenizer files),
    /// such a folder holding NGAME's <c>ngame_state_dict.pt</c> as its only weights, or a
    /// <c>skim train</c> run folder (its <c>encoder/</c> is used). Required.
    /// </summary>
    public required string Encoder { get; init; }

    /// <summary>Gets which side the synthetic texts were written for. Defaults to <see cref="MappingOrientation.QuerySide"/>.</summary>
    public MappingOrientation Orientation { get; init; } = MappingOrientation.QuerySide;

    /// <summary>Gets the pooling. Defaults to null: the encoder's <c>skim_encoder.json</c>, else mean (NGAME).</summary>
    public PoolingMode? Pooling { get; init; }

    /// <summary>Gets whether embeddings are L2-normalised. Defaults to null: the encoder's <c>skim_encoder.json</c>, else true (NGAME).</summary>
    public bool? Normalize { get; init; }

    /// <summary>Gets the token limit per text, special tokens included. Defaults to 32 (SKIM, NGAME).</summary>
    public int MaxLength { get; init; } = 32;

    /// <summary>Gets the texts per forward pass. Defaults to 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Gets the dtype of the stored embeddings: float32 or float16. Defaults to "float32".</summary>
    public string EmbeddingDType { get; init; } = "float32";

    /// <summary>Gets how many neighbours are searched and stored per synthetic text (<c>ngbr_*_mat.npy</c> width). Defaults to 200 (SKIM).</summary>
    public int Knn { get; init; } = 200;

    /// <summary>Gets how many of each synthetic text's neighbours the mapping rule considers. Defaults to 10 (SKIM).</summary>
    public int TopK { get; init; } = 10;

    /// <summary>Gets the smallest rescaled score <c>(s + 1) / 2</c>, in [0, 1], a neighbour needs to become a pair. Defaults to 0.8 (SKIM).</summary>
    public float Threshold { get; init; } = 0.8f;

    /// <summary>
    /// Gets extra (top_k, threshold) settings evaluated from the same neighbours in the same run, each
    /// written to <c>sweep/k{TopK}-t{Threshold}/</c> with its own <c>trn_X_Y_skim.npz</c> and report.
    /// Defaults to null: none.
    /// </summary>
    public IReadOnlyList<Step2SweepPoint>? Sweep { get; init; }

    /// <summary>Gets the device for the encoder and the search: auto, cpu, cuda or cuda:N. Defaults to "auto".</summary>
    public string Device { get; init; } = "auto";

    /// <summary>
    /// Gets the shard <c>K/N</c> (0-based) of the synthetic rows this run embeds and searches, or null
    /// for all. A shard writes to <c>shards/K-of-N/</c> below <see cref="OutputDirectory"/>; a run
    /// without a shard then merges the N complete shards instead of computing them. Defaults to null.
    /// </summary>
    public string? Shard { get; init; }

    /// <summary>
    /// Gets the rows per durable unit: embeddings and neighbours are computed and written chunk by
    /// chunk, a chunk already written is never recomputed, and shards are whole chunks. Defaults to 65536.
    /// </summary>
    public int ChunkRows { get; init; } = 65536;

    /// <summary>Gets how many synthetic rows the search scores at once. Defaults to 2048.</summary>
    public int QueryBlockSize { get; init; } = 2048;

    /// <summary>Gets how many target rows the search holds on the device at once (403 MB at d = 768). Defaults to 131072.</summary>
    public int TargetBlockSize { get; init; } = 131072;

    /// <summary>Gets how many (synthetic → mapped → label) triples the report samples. Defaults to 20.</summary>
    public int SampleSize { get; init; } = 20;

    /// <summary>Gets the seed of the report's sample. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the output folder, e.g. <c>artifacts/skim-augmented-datasets/DATASET/</c>. Required.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Gets the mapping settings of the main result.</summary>
    internal Step2SweepPoint Main => new(TopK, Threshold);

    /// <summary>Gets the main setting followed by the sweep's (duplicates removed).</summary>
    internal IReadOnlyList<Step2SweepPoint> AllSettings => [.. new[] { Main }.Concat(Sweep ?? []).Distinct()];

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        Require(DatasetDirectory, "dataset");
        Require(GenerationsDirectory, "generations");
        Require(Encoder, "encoder");
        Require(OutputDirectory, "out");
        if (!Enum.IsDefined(Orientation))
        {
            throw new SkimConfigException($"orientation: expected query-side or label-side, found {(int)Orientation}");
        }
        Positive(MaxLength, "max_length");
        Positive(BatchSize, "batch_size");
        Positive(Knn, "knn");
        Positive(ChunkRows, "chunk_rows");
        Positive(QueryBlockSize, "query_block_size");
        Positive(TargetBlockSize, "target_block_size");
        if (SampleSize < 0)
        {
            throw new SkimConfigException($"sample_size: expected a non-negative number of triples, found {SampleSize}");
        }
        if (EmbeddingDType is not ("float32" or "float16"))
        {
            throw new SkimConfigException($"embedding_dtype '{EmbeddingDType}': expected float32 or float16");
        }
        foreach (var point in AllSettings)
        {
            point.Validate(Knn);
        }
        _ = ParsedShard;
        Models.Devices.TorchDevices.ParseDevice(Device, "device");
    }

    /// <summary>Gets <see cref="Shard"/> parsed as (index, count), or null.</summary>
    /// <exception cref="SkimConfigException">The value is not K/N with 0 &lt;= K &lt; N.</exception>
    internal (int Index, int Count)? ParsedShard => Shard is null ? null : ParseShard(Shard);

    /// <summary>Parses <c>K/N</c> (0-based shard K of N).</summary>
    /// <exception cref="SkimConfigException">The text is not K/N with integers 0 &lt;= K &lt; N.</exception>
    public static (int Index, int Count) ParseShard(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || count < 1 || index >= count)
        {
            throw new SkimConfigException($"shard '{text}': expected K/N, a 0-based shard index K below the shard count N (e.g. 0/4)");
        }
        return (index, count);
    }

    private static void Require(string value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new SkimConfigException($"{name}: expected a folder path, found none");
        }
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new SkimConfigException($"{name}: expected a positive integer, found {value}");
        }
    }
}

/// <summary>One mapping setting: how many neighbours are considered and the score they need.</summary>
/// <param name="TopK">Neighbours considered per synthetic text.</param>
/// <param name="Threshold">The smallest rescaled score <c>(s + 1) / 2</c> kept, in [0, 1].</param>
public sealed record Step2SweepPoint(int TopK, float Threshold)
{
    /// <summary>Gets the folder name of this setting under <c>sweep/</c>, e.g. <c>k10-t0.8</c>.</summary>
    public string FolderName => string.Create(CultureInfo.InvariantCulture, $"k{TopK}-t{Threshold:0.######}");

    /// <summary>Parses <c>TOPK:THRESHOLD[,TOPK:THRESHOLD...]</c>, e.g. <c>5:0.8,10:0.9</c>.</summary>
    /// <exception cref="SkimConfigException">An entry is not an integer and a number separated by ':'.</exception>
    public static IReadOnlyList<Step2SweepPoint> ParseList(string text, string option = "--sweep")
    {
        ArgumentNullException.ThrowIfNull(text);
        var points = new List<Step2SweepPoint>();
        foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = entry.Split(':', StringSplitOptions.TrimEntries);
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var topK)
                || !float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold))
            {
                throw new SkimConfigException($"{option} '{entry}': expected TOPK:THRESHOLD such as 10:0.8");
            }
            points.Add(new Step2SweepPoint(topK, threshold));
        }
        return points;
    }

    /// <summary>Throws a <see cref="SkimConfigException"/> when the setting is invalid or needs more than <paramref name="knn"/> neighbours.</summary>
    public void Validate(int knn)
    {
        if (TopK < 1 || TopK > knn)
        {
            throw new SkimConfigException($"top_k: expected 1..{knn} (the neighbours searched, knn), found {TopK}");
        }
        if (!(Threshold >= 0f && Threshold <= 1f))
        {
            throw new SkimConfigException(string.Create(CultureInfo.InvariantCulture, $"threshold: expected a rescaled score (s + 1) / 2 in [0, 1], found {Threshold}"));
        }
    }
}
