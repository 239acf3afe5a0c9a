using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Formats.Npy;
using Skim.Core.IO;
using Skim.Core.Manifests;
using Skim.Core.Stages;
using Skim.MapQueries.Mapping;
using Skim.MapQueries.Reports;
using Skim.Models.Encoders;
using Skim.Models.Search;
using Skim.Models.Tokenization;

namespace Skim.MapQueries.Step2;

/// <summary>
/// <c>step-2</c>: embeds the targets (training queries query-side, labels label-side) and step-1's
/// synthetic texts, finds each synthetic text's exact nearest targets, applies the SKIM mapping rule
/// and writes <c>trn_X_Y_skim.npz</c> with an augmentation report.
/// </summary>
/// <remarks>
/// Output folder: <c>embeddings/{trn_doc|lbl}_embeddings.npy</c>, <c>embeddings/rewrite_doc_embeddings.npy</c>,
/// <c>ngbr_indices_mat.npy</c> (int32), <c>ngbr_scores_mat.npy</c> (float32), <c>trn_X_Y_skim.npz</c>,
/// <c>report.json</c>, <c>score_histogram.png</c>, <c>sweep/k{K}-t{T}/</c> per extra setting, <c>manifest.json</c>.
/// Every file that exists is complete (atomic writes), and the run reuses the ones it finds: a killed
/// run resumes at its first missing chunk, and with the embeddings and neighbours in place only the
/// mapping is redone. A re-run with other options keeps <c>embeddings/</c> and the neighbour files when
/// <c>embeddings/fingerprint.json</c> shows they were computed from the same encoder, texts and embedding
/// options (and k), so changing top_k or the threshold in a pipeline only redoes the mapping. A shard (<see cref="Step2Options.Shard"/>) embeds and searches its chunks of the
/// synthetic rows into <c>shards/K-of-N/</c>; a run without a shard then merges the complete shards.
/// </remarks>
public sealed partial class Step2Stage : Stage<Step2Options>
{
    /// <summary>The stage kind.</summary>
    public const string StageKind = "step-2";

    /// <summary>The synthetic texts file step-1 writes.</summary>
    public const string RewritesFileName = "raw_rewrites.txt";

    /// <summary>The folder of the embedding files.</summary>
    public const string EmbeddingsFolder = "embeddings";

    /// <summary>The synthetic texts' embeddings, as SKIM names them.</summary>
    public const string RewriteEmbeddingsFileName = "rewrite_doc_embeddings.npy";

    /// <summary>The training queries' embeddings (query-side), as SKIM names them.</summary>
    public const string TrainEmbeddingsFileName = "trn_doc_embeddings.npy";

    /// <summary>The labels' embeddings (label-side), as SKIM names them.</summary>
    public const string LabelEmbeddingsFileName = "lbl_embeddings.npy";

    /// <summary>The folder of the shards below the output folder.</summary>
    public const string ShardsFolder = "shards";

    /// <summary>The folder of the extra settings below the output folder.</summary>
    public const string SweepFolder = "sweep";

    /// <summary>
    /// The record, inside <see cref="EmbeddingsFolder"/>, of what the embeddings and neighbours in the
    /// folder were computed from (encoder files, texts, the options that change them).
    /// </summary>
    public const string FingerprintFileName = "fingerprint.json";

    /// <inheritdoc />
    public override string Kind => StageKind;

    /// <summary>
    /// Gets the costly outputs a re-run keeps: the embeddings and the neighbour files. A re-run caused by
    /// a change of the mapping (top_k, threshold, sweep) then redoes only the mapping; <see cref="FingerprintFileName"/>
    /// tells whether they still fit the new options and inputs, and they are discarded when not.
    /// </summary>
    public override IReadOnlyList<string> KeptOnRerun => [EmbeddingsFolder, KnnResult.IndicesFileName, KnnResult.ScoresFileName];

    /// <summary>Gets the folder of shard <paramref name="index"/> of <paramref name="count"/> below <paramref name="outputDirectory"/>.</summary>
    public static string ShardDirectory(string outputDirectory, int index, int count) =>
        Path.Combine(outputDirectory, ShardsFolder, string.Create(CultureInfo.InvariantCulture, $"{index}-of-{count}"));

    /// <summary>Gets the target embeddings' file name for an orientation.</summary>
    public static string TargetEmbeddingsFileName(MappingOrientation orientation) =>
        orientation == MappingOrientation.QuerySide ? TrainEmbeddingsFileName : LabelEmbeddingsFileName;

    /// <inheritdoc />
    protected override IReadOnlyList<string> Inputs(Step2Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string encoder;
        try
        {
            encoder = MappingEncoder.ResolveDirectory(options.Encoder);
        }
        catch (SkimConfigException)
        {
            encoder = options.Encoder;
        }
        return
        [
            options.DatasetDirectory,
            Path.Combine(options.GenerationsDirectory, RewritesFileName),
            Path.Combine(options.GenerationsDirectory, SkimMapping.StartIndicesFileName),
            encoder,
        ];
    }

    /// <inheritdoc />
    protected override string OutputDirectory(Step2Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.ParsedShard is { } shard ? ShardDirectory(options.OutputDirectory, shard.Index, shard.Count) : options.OutputDirectory;
    }

    /// <inheritdoc />
    protected override void Validate(Step2Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
    }

    /// <inheritdoc />
    protected override Task<JsonObject> RunAsync(Step2Options options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // The work is synchronous (libtorch and file I/O); a task keeps the caller responsive.
        return Task.Run(() => Run(options, progress, ct), ct);
    }

    private JsonObject Run(Step2Options options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var directory = OutputDirectory(options);
        var inputs = Inputs(options);
        var clock = Stopwatch.StartNew();

        // Inputs are checked before anything is written, so bad input leaves no output folder behind.
        var dataset = XcDataset.Open(options.DatasetDirectory);
        var querySide = options.Orientation == MappingOrientation.QuerySide;
        var train = dataset.TrainLabels;
        var targetCount = querySide ? train.Rows : train.Columns;
        var sourceCount = querySide ? train.Columns : train.Rows;
        var rewritesPath = Path.Combine(options.GenerationsDirectory, RewritesFileName);
        var startPath = Path.Combine(options.GenerationsDirectory, SkimMapping.StartIndicesFileName);
        var (syntheticRows, start) = ReadGenerations(rewritesPath, startPath, sourceCount, querySide);
        if (options.Knn > targetCount)
        {
            throw new SkimConfigException($"knn: {options.Knn} neighbours asked for but the dataset has only {targetCount} {(querySide ? "training queries" : "labels")}; use knn <= {targetCount}");
        }

        var started = StageManifests.WriteStarted(Kind, options, options.Seed, inputs, directory);
        var reused = ReuseOrDiscard(options, directory, rewritesPath);
        var seconds = new JsonObject();
        var chunks = NpyChunks.Count(syntheticRows, options.ChunkRows);
        var (firstChunk, endChunk) = options.ParsedShard is { } shard ? NpyChunks.ShardChunks(chunks, shard.Index, shard.Count) : (0, chunks);
        var embeddingsDirectory = Path.Combine(directory, EmbeddingsFolder);
        var targetsPath = Path.Combine(embeddingsDirectory, TargetEmbeddingsFileName(options.Orientation));
        var rewriteEmbeddingsPath = Path.Combine(embeddingsDirectory, RewriteEmbeddingsFileName);
        var dtype = options.EmbeddingDType == "float16" ? NpyDType.Float16 : NpyDType.Float32;
        var targetTexts = querySide ? dataset.TrainTexts : dataset.LabelTexts;
        var targetsName = $"{options.DatasetDirectory} ({(querySide ? "training texts" : "label texts")})";
        var summary = new JsonObject
        {
            ["orientation"] = querySide ? "query-side" : "label-side",
            ["synthetic_queries"] = syntheticRows,
            ["targets"] = targetCount,
        };
        if (reused is not null)
        {
            summary["reused"] = reused;
        }

        var merged = options.ParsedShard is null ? MergeShards(options, directory, targetsPath, rewriteEmbeddingsPath, ct) : 0;
        if (merged > 0)
        {
            summary["merged_shards"] = merged;
            seconds["merge"] = Round(clock.Elapsed.TotalSeconds);
        }
        else
        {
            long embedded = 0;
            long searched = 0;
            var knnOptions = new ExactKnnOptions { K = options.Knn, QueryBlockSize = options.QueryBlockSize, DatabaseBlockSize = options.TargetBlockSize, Device = options.Device };
            var indicesPath = Path.Combine(directory, KnnResult.IndicesFileName);
            var scoresPath = Path.Combine(directory, KnnResult.ScoresFileName);
            var needsEncoder = !File.Exists(targetsPath) || !File.Exists(rewriteEmbeddingsPath);
            using (var embedder = needsEncoder ? OpenEmbedder(options, dtype) : null)
            {
                var phase = Stopwatch.StartNew();
                if (embedder is not null)
                {
                    using var texts = TextRows.FromList(targetTexts, targetsName);
                    embedded += embedder.Embed(texts, targetCount, options.ChunkRows, 0, NpyChunks.Count(targetCount, options.ChunkRows), targetsPath, "embed targets", progress, ct);
                }
                CheckTargets(targetsPath, dtype, targetCount, querySide);
                seconds["embed_targets"] = Round(phase.Elapsed.TotalSeconds);

                phase.Restart();
                if (embedder is not null)
                {
                    using var texts = TextRows.FromFile(rewritesPath);
                    embedded += embedder.Embed(texts, syntheticRows, options.ChunkRows, firstChunk, endChunk, rewriteEmbeddingsPath, "embed synthetic", progress, ct);
                }
                seconds["embed_synthetic"] = Round(phase.Elapsed.TotalSeconds);
                summary["rows_embedded"] = embedded;
            }

            var knnClock = Stopwatch.StartNew();
            searched = ChunkedKnn.Search(rewriteEmbeddingsPath, targetsPath, syntheticRows, options.ChunkRows, firstChunk, endChunk, knnOptions, directory, "knn", progress, ct);
            seconds["knn"] = Round(knnClock.Elapsed.TotalSeconds);
            summary["rows_searched"] = searched;
        }

        if (options.ParsedShard is not null)
        {
            var first = Math.Min(syntheticRows, (long)firstChunk * options.ChunkRows);
            summary["shard"] = options.Shard;
            summary["shard_rows"] = Math.Min(syntheticRows, (long)endChunk * options.ChunkRows) - first;
            summary["shard_first_row"] = first;
            summary["seconds"] = seconds;
            StageManifests.WriteComplete(Kind, options, options.Seed, inputs, directory, ShardOutputs(directory), summary, started);
            return summary;
        }

        var mapClock = Stopwatch.StartNew();
        var settings = options.AllSettings;
        var neighbours = KnnResult.Load(Path.Combine(directory, KnnResult.IndicesFileName), Path.Combine(directory, KnnResult.ScoresFileName), settings.Max(s => s.TopK));
        var sweep = new JsonArray();
        using var rewrites = TextRows.FromFile(rewritesPath);
        var sourceTexts = querySide ? dataset.LabelTexts : dataset.TrainTexts;
        var chartsDrawn = true;
        for (var i = 0; i < settings.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var setting = settings[i];
            progress?.Report(new StageProgress("map", i, settings.Count, "settings", $"top_k {setting.TopK}, threshold {setting.Threshold.ToString(CultureInfo.InvariantCulture)}"));
            var target = i == 0 ? directory : Path.Combine(directory, SweepFolder, setting.FolderName);
            var mapping = new SkimMappingOptions { TopK = setting.TopK, Threshold = setting.Threshold, Orientation = options.Orientation };
            var result = SkimMapping.Apply(train, neighbours, start, mapping, ct);
            result.Save(target);
            var report = AugmentationReports.Build(new AugmentationReportInputs
            {
                Observed = train,
                Full = dataset.FullTrainLabels,
                Result = result,
                Neighbours = neighbours,
                StartIndices = start,
                Orientation = options.Orientation,
                TopK = setting.TopK,
                Threshold = setting.Threshold,
                SourceText = s => sourceTexts[s],
                TargetText = t => targetTexts[t],
                SyntheticTexts = rows => ReadLines(rewrites, rows),
                SampleSize = options.SampleSize,
                Seed = options.Seed,
            });
            AugmentationReports.Save(report, target);
            chartsDrawn &= TryDrawHistogram(report, target);
            if (i == 0)
            {
                Describe(summary, report);
            }
            else
            {
                var entry = new JsonObject { ["top_k"] = setting.TopK, ["threshold"] = setting.Threshold };
                DescribeCounts(entry, report);
                sweep.Add(entry);
            }
        }
        progress?.Report(new StageProgress("map", settings.Count, settings.Count, "settings"));
        if (sweep.Count > 0)
        {
            summary["sweep"] = sweep;
        }
        summary["histogram_png"] = chartsDrawn;
        seconds["map"] = Round(mapClock.Elapsed.TotalSeconds);
        summary["seconds"] = seconds;
        StageManifests.WriteComplete(Kind, options, options.Seed, inputs, directory, [directory], summary, started);
        return summary;
    }

    /// <summary>
    /// Compares what the kept embeddings and neighbours were computed from with this run: embeddings
    /// from another encoder, other texts or other embedding options are deleted, and so are neighbours
    /// of another k; then records this run's fingerprint. Files found without a fingerprint (placed by
    /// hand, e.g. SKIM's provided embeddings) are kept. Returns what was reused, or null for nothing.
    /// </summary>
    private static string? ReuseOrDiscard(Step2Options options, string directory, string rewritesPath)
    {
        var embeddingsDirectory = Path.Combine(directory, EmbeddingsFolder);
        var fingerprintPath = Path.Combine(embeddingsDirectory, FingerprintFileName);
        string encoder;
        try
        {
            encoder = MappingEncoder.ResolveDirectory(options.Encoder);
        }
        catch (SkimConfigException)
        {
            encoder = options.Encoder;
        }
        var embeddings = new JsonObject
        {
            ["encoder"] = Fingerprint(encoder),
            ["dataset"] = Fingerprint(options.DatasetDirectory),
            ["rewrites"] = Fingerprint(rewritesPath),
            ["orientation"] = options.Orientation == MappingOrientation.QuerySide ? "query-side" : "label-side",
            ["pooling"] = options.Pooling?.ToString(),
            ["normalize"] = options.Normalize,
            ["max_length"] = options.MaxLength,
            ["embedding_dtype"] = options.EmbeddingDType,
            ["chunk_rows"] = options.ChunkRows,
            ["shard"] = options.Shard,
        };
        var current = new JsonObject { ["embeddings"] = embeddings, ["knn"] = options.Knn };
        var neighbourFiles = new[] { Path.Combine(directory, KnnResult.IndicesFileName), Path.Combine(directory, KnnResult.ScoresFileName) };
        string? reused = null;
        if (File.Exists(fingerprintPath))
        {
            var previous = JsonNode.Parse(File.ReadAllText(fingerprintPath)) as JsonObject;
            if (!Directory.Exists(encoder) && previous?["embeddings"]?["encoder"] is { } recorded)
            {
                // The encoder is gone (moved, deleted, another machine): embeddings already made with it
                // still serve a new mapping setting; a present, different encoder invalidates them.
                embeddings["encoder"] = recorded.DeepClone();
            }
            var sameEmbeddings = previous?["embeddings"] is { } e && JsonNode.DeepEquals(e, embeddings);
            var sameKnn = sameEmbeddings && previous?["knn"] is { } k && JsonNode.DeepEquals(k, current["knn"]);
            if (!sameEmbeddings)
            {
                Directory.Delete(embeddingsDirectory, recursive: true);
            }
            if (!sameKnn)
            {
                foreach (var file in neighbourFiles)
                {
                    File.Delete(file);
                }
            }
            var embeddingsKept = sameEmbeddings && Directory.EnumerateFiles(embeddingsDirectory, "*.npy").Any();
            var neighboursKept = sameKnn && neighbourFiles.All(File.Exists);
            reused = neighboursKept ? "embeddings and neighbours" : embeddingsKept ? "embeddings" : null;
        }
        Directory.CreateDirectory(embeddingsDirectory);
        AtomicFile.WriteAllText(fingerprintPath, current.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        return reused;
    }

    /// <summary>The relative names, sizes and hashes of a file or of every file below a folder.</summary>
    private static JsonArray Fingerprint(string path) =>
        new([.. RunManifest.Describe(path, Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path)))
            .Select(f => (JsonNode)JsonValue.Create($"{f.Path.Replace('\\', '/')} {f.Bytes} {f.XxHash128}"))]);

    private static ChunkedEmbedder OpenEmbedder(Step2Options options, NpyDType dtype)
    {
        var folder = MappingEncoder.ResolveDirectory(options.Encoder);
        var (pooling, normalize) = MappingEncoder.Settings(folder, options.Pooling, options.Normalize);
        var encoder = TextEncoder.Load(folder, new TextEncoderOptions
        {
            Pooling = pooling,
            Normalize = normalize,
            Device = options.Device,
            OutputDType = options.EmbeddingDType,
            BatchSize = options.BatchSize,
        });
        try
        {
            var tokenizer = TokenizerLoader.Load(folder);
            encoder.CheckTokenizer(tokenizer.VocabularySize, folder);
            return new ChunkedEmbedder(encoder, tokenizer, options.MaxLength, options.BatchSize, dtype);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>Counts the synthetic texts and checks that start_indices fits them and the sources.</summary>
    private static (long Rows, long[] Start) ReadGenerations(string rewritesPath, string startPath, int sourceCount, bool querySide)
    {
        foreach (var path in new[] { rewritesPath, startPath })
        {
            if (!File.Exists(path))
            {
                throw new SkimConfigException($"generations: {path} not found (step-1 writes {RewritesFileName} and {SkimMapping.StartIndicesFileName}; run `skim run step-1` or give --generations the folder that holds them)");
            }
        }
        var rows = TextRows.CountLines(rewritesPath);
        var start = SkimMapping.LoadStartIndices(startPath);
        var sources = querySide ? "labels" : "training points";
        if (start.Length == 0 || start[0] != 0)
        {
            throw new SkimFormatException(startPath, "entry 0", $"expected offsets starting at 0 into the {rows} lines of {rewritesPath}, found {(start.Length == 0 ? "no entries" : start[0].ToString(CultureInfo.InvariantCulture))}");
        }
        for (var i = 1; i < start.Length; i++)
        {
            if (start[i] < start[i - 1] || start[i] > rows)
            {
                throw new SkimFormatException(startPath, $"entry {i}", $"expected non-decreasing offsets within the {rows} lines of {rewritesPath}, found {start[i]} after {start[i - 1]}");
            }
        }
        var closing = start[^1] == rows && start.Length - 1 <= sourceCount;
        var perSource = start.Length == sourceCount;
        if (!closing && !perSource)
        {
            throw new SkimFormatException(startPath, $"entry {start.Length - 1}",
                $"expected {sourceCount + 1} offsets ending at {rows}, the lines of {rewritesPath} (one item per {sources[..^1]} plus a closing offset), found {start.Length} offsets ending at {start[^1]}");
        }
        return (rows, start);
    }

    private static void CheckTargets(string path, NpyDType dtype, int targetCount, bool querySide)
    {
        var what = querySide ? "training-query embeddings, one per row of the train matrix" : "label embeddings, one per column of the train matrix";
        NpyChunks.CheckMatrix(path, dtype, targetCount, null, what);
    }

    /// <summary>
    /// When <c>shards/</c> holds shard folders, checks that all N are complete with this run's options
    /// and joins their files into the output folder; returns N, or 0 when there are no shards.
    /// </summary>
    private int MergeShards(Step2Options options, string directory, string targetsPath, string rewriteEmbeddingsPath, CancellationToken ct)
    {
        var root = Path.Combine(directory, ShardsFolder);
        if (!Directory.Exists(root))
        {
            return 0;
        }
        var found = Directory.EnumerateDirectories(root)
            .Select(d => ShardName().Match(Path.GetFileName(d)))
            .Where(m => m.Success)
            .Select(m => (Index: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Count: int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .ToList();
        if (found.Count == 0)
        {
            return 0;
        }
        var counts = found.Select(f => f.Count).Distinct().ToList();
        if (counts.Count != 1)
        {
            throw new SkimConfigException($"{root}: holds shards of {string.Join(" and ", counts)} shard counts; keep the folders of one --shard K/N split");
        }
        var n = counts[0];
        var expected = Strip(RunManifest.OptionsNode(options));
        var missing = new List<string>();
        for (var k = 0; k < n; k++)
        {
            var manifest = RunManifest.Read(ShardDirectory(options.OutputDirectory, k, n));
            if (manifest is not { Complete: true } || manifest.Stage != Kind)
            {
                missing.Add(string.Create(CultureInfo.InvariantCulture, $"{k}/{n}"));
            }
            else if (!JsonNode.DeepEquals(Strip(manifest.Options), expected))
            {
                throw new SkimConfigException($"{ShardDirectory(options.OutputDirectory, k, n)}: shard {k}/{n} was computed with other options than this run's; run it again with the same options");
            }
        }
        if (missing.Count > 0)
        {
            throw new SkimConfigException($"{root}: shards {string.Join(", ", missing)} of {n} are not complete; run `skim run step-2 --shard K/N` with the same options for each, then merge");
        }
        var shardDirectories = Enumerable.Range(0, n).Select(k => ShardDirectory(options.OutputDirectory, k, n)).ToList();
        var targetName = Path.GetFileName(targetsPath);
        Directory.CreateDirectory(Path.GetDirectoryName(targetsPath)!);
        if (!File.Exists(targetsPath))
        {
            // Every shard embedded all targets identically; the first one's copy is the targets file.
            NpyChunks.Concatenate([Path.Combine(shardDirectories[0], EmbeddingsFolder, targetName)], targetsPath, ct);
        }
        ConcatenateOnce(shardDirectories.Select(d => Path.Combine(d, EmbeddingsFolder, RewriteEmbeddingsFileName)).ToList(), rewriteEmbeddingsPath, ct);
        ConcatenateOnce(shardDirectories.Select(d => Path.Combine(d, KnnResult.ScoresFileName)).ToList(), Path.Combine(directory, KnnResult.ScoresFileName), ct);
        ConcatenateOnce(shardDirectories.Select(d => Path.Combine(d, KnnResult.IndicesFileName)).ToList(), Path.Combine(directory, KnnResult.IndicesFileName), ct);
        return n;
    }

    private static void ConcatenateOnce(IReadOnlyList<string> parts, string output, CancellationToken ct)
    {
        if (!File.Exists(output))
        {
            NpyChunks.Concatenate(parts, output, ct);
        }
    }

    private static JsonNode Strip(JsonNode options)
    {
        var copy = options.DeepClone();
        if (copy is JsonObject o)
        {
            o.Remove("shard");
        }
        return copy;
    }

    private static IEnumerable<string> ShardOutputs(string directory) =>
    [
        Path.Combine(directory, EmbeddingsFolder),
        Path.Combine(directory, KnnResult.IndicesFileName),
        Path.Combine(directory, KnnResult.ScoresFileName),
    ];

    private static List<string> ReadLines(TextRows rewrites, IReadOnlyList<long> rows)
    {
        var lines = new List<string>(rows.Count);
        foreach (var row in rows)
        {
            lines.Add(rewrites.Read(row, 1)[0]);
        }
        return lines;
    }

    // The PNG is a convenience: a machine without a usable font or native Skia still gets the numbers.
    private static bool TryDrawHistogram(AugmentationReport report, string directory)
    {
        try
        {
            AugmentationReports.SaveHistogram(report, directory);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or IOException)
        {
            return false;
        }
    }

    private static void Describe(JsonObject summary, AugmentationReport report)
    {
        summary["top_k"] = report.TopK;
        summary["threshold"] = report.Threshold;
        DescribeCounts(summary, report);
        summary["rows_touched"] = report.RowsTouched;
        summary["labels_touched"] = report.LabelsTouched;
        summary["labels_gaining_first_point"] = report.LabelsGainingFirstPoint;
        summary["deciles"] = new JsonArray([.. report.Deciles.Select(d => (JsonNode)new JsonObject
        {
            ["decile"] = d.Decile,
            ["labels"] = d.Labels,
            ["pairs_before"] = d.PairsBefore,
            ["pairs_added"] = d.PairsAdded,
        })]);
    }

    private static void DescribeCounts(JsonObject entry, AugmentationReport report)
    {
        entry["pairs_before"] = report.PairsBefore;
        entry["pairs_after"] = report.PairsAfter;
        entry["pairs_added"] = report.PairsAdded;
        if (report.VersusFull is { } full)
        {
            entry["precision"] = Round(full.Precision);
            entry["recall"] = Round(full.Recall);
            entry["random_precision"] = Round(full.RandomPrecision);
        }
    }

    private static double Round(double value) => Math.Round(value, 6);

    [GeneratedRegex(@"^(\d+)-of-(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ShardName();
}
