using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Skim.Core;
using Skim.Core.Manifests;
using Skim.Core.Stages;
using Skim.Generate.Sharding;

namespace Skim.Generate.Step1;

/// <summary>
/// <c>skim merge step-1 DIR</c>: joins the shards of a step-1 job (<c>DIR/shards/K-of-N/</c>, from
/// runs with <c>--shard K/N</c> and otherwise the same options), checks that every item of the job
/// was generated exactly once, and writes the job's outputs and a complete manifest into DIR, the
/// same as one unsharded run would.
/// </summary>
public static class Step1Merge
{
    // How RunManifest writes options (snake_case keys, kebab-case enums), to read them back.
    private static readonly JsonSerializerOptions s_options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>Merges the shards in <paramref name="directory"/> and returns the job's summary.</summary>
    /// <exception cref="SkimConfigException">No shards, shards of different counts or options.</exception>
    /// <exception cref="SkimDataException">Items are missing or repeated (the message names the ranges and the shards missing or unfinished).</exception>
    public static async Task<JsonObject> RunAsync(string directory, IProgress<StageProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var shards = Step1Layout.FindShards(directory).Where(s => s.Shard.Count > 1).ToList();
        if (shards.Count == 0)
        {
            throw new SkimConfigException($"{directory}: no shard folders (expected {Step1Layout.ShardsFolder}/K-of-N from skim run step-1 --shard K/N --out {directory})");
        }
        var counts = shards.Select(s => s.Shard.Count).Distinct().ToList();
        if (counts.Count > 1)
        {
            throw new SkimConfigException($"{directory}: holds shards of jobs split {string.Join(" and ", counts.Select(c => $"{c} ways"))}; keep the shards of one job only");
        }
        var count = counts[0];

        Step1Options? options = null;
        JsonNode? reference = null;
        string? referenceDirectory = null;
        var unfinished = new List<string>();
        var records = new List<Step1Record>();
        foreach (var (shard, shardDirectory) in shards)
        {
            ct.ThrowIfCancellationRequested();
            var manifest = RunManifest.Read(shardDirectory)
                ?? throw new SkimConfigException($"{shardDirectory}: no manifest.json (a step-1 shard writes one when it starts)");
            if (manifest.Stage != Step1Stage.StageKind)
            {
                throw new SkimConfigException($"{shardDirectory}: holds the output of stage '{manifest.Stage}', not '{Step1Stage.StageKind}'");
            }
            var withoutShard = WithoutShard(manifest.Options);
            if (reference is null)
            {
                reference = withoutShard;
                referenceDirectory = shardDirectory;
                options = manifest.Options.Deserialize<Step1Options>(s_options)
                    ?? throw new SkimFormatException(Path.Combine(shardDirectory, RunManifest.FileName), "options", "expected step-1 options");
            }
            else if (!JsonNode.DeepEquals(reference, withoutShard))
            {
                throw new SkimConfigException($"{shardDirectory}: was run with other options than {referenceDirectory} (besides the shard); shards of one job must share every other option");
            }
            if (!manifest.Complete)
            {
                unfinished.Add(shard.ToString());
            }
            var state = Path.Combine(shardDirectory, ShardStateFile.FileName);
            if (File.Exists(state))
            {
                records.AddRange(ShardStateFile.Read(state));
            }
        }

        var job = options! with { Shard = ShardSpec.All.ToString() };
        var items = Step1Stage.LoadItems(job);
        var range = Step1Layout.JobRange(job, items.Count);
        var absent = Enumerable.Range(0, count).Where(k => shards.All(s => s.Shard.Index != k)).Select(k => $"{k}/{count}").ToList();
        try
        {
            Coverage.Check(records, range, directory);
        }
        catch (SkimDataException e)
        {
            var hints = new List<string>();
            if (absent.Count > 0)
            {
                hints.Add($"shards {string.Join(", ", absent)} not found");
            }
            if (unfinished.Count > 0)
            {
                hints.Add($"shards {string.Join(", ", unfinished)} unfinished");
            }
            throw new SkimDataException(hints.Count == 0 ? e.Message : $"{e.Message} ({string.Join("; ", hints)})");
        }

        progress?.Report(new StageProgress("merge", 0, 1, "files"));
        var started = DateTimeOffset.UtcNow;
        var summary = await Step1Outputs.WriteAsync(directory, records, range, items, Step1Stage.ExtractionOf(job), ct).ConfigureAwait(false);
        summary["shards"] = count;
        summary["first_item"] = range.Start;
        summary["item_seed"] = Step1Seeds.Rule;
        StageManifests.WriteComplete(
            Step1Stage.StageKind,
            job,
            job.Seed,
            Step1Stage.InputsOf(job),
            directory,
            [.. Step1Outputs.Files.Select(f => Path.Combine(directory, f)), .. shards.Select(s => Path.Combine(s.Directory, ShardStateFile.FileName))],
            summary,
            started);
        progress?.Report(new StageProgress("merge", 1, 1, "files"));
        return summary;
    }

    private static JsonNode WithoutShard(JsonNode options)
    {
        var copy = options.DeepClone();
        if (copy is JsonObject obj)
        {
            obj.Remove("shard");
        }
        return copy;
    }
}
