using System.Globalization;
using System.Text.RegularExpressions;
using Skim.Core;
using Skim.Generate.Sharding;

namespace Skim.Generate.Step1;

/// <summary>
/// Where step-1 keeps what inside its output folder: the outputs and <c>manifest.json</c> at the top
/// (a single run, or after <c>skim merge step-1</c>), and per shard <c>shards/K-of-N/generations.jsonl</c>.
/// A shard of several (N &gt; 1) is a stage run of its own: its manifest lives in its shard folder,
/// so shards running at once on other machines never write the same file.
/// </summary>
public static partial class Step1Layout
{
    /// <summary>The folder holding the shard folders.</summary>
    public const string ShardsFolder = "shards";

    /// <summary>Gets the folder of <paramref name="shard"/> under <paramref name="root"/>.</summary>
    public static string ShardDirectory(string root, ShardSpec shard) =>
        Path.Combine(root, ShardsFolder, string.Create(CultureInfo.InvariantCulture, $"{shard.Index}-of-{shard.Count}"));

    /// <summary>Gets the folder a run of <paramref name="options"/> writes its manifest to: the output folder, or its shard folder when N &gt; 1.</summary>
    public static string RunDirectory(Step1Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var shard = options.ParseShard();
        return shard.Count == 1 ? options.OutputDirectory : ShardDirectory(options.OutputDirectory, shard);
    }

    /// <summary>Gets the generations file of <paramref name="options"/>' shard.</summary>
    public static string StateFile(Step1Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Path.Combine(ShardDirectory(options.OutputDirectory, options.ParseShard()), ShardStateFile.FileName);
    }

    /// <summary>Finds the shard folders under <paramref name="root"/>, with the shard each holds, in shard order.</summary>
    public static IReadOnlyList<(ShardSpec Shard, string Directory)> FindShards(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var folder = Path.Combine(root, ShardsFolder);
        if (!Directory.Exists(folder))
        {
            return [];
        }
        var found = new List<(ShardSpec, string)>();
        foreach (var directory in Directory.EnumerateDirectories(folder))
        {
            var match = ShardName().Match(Path.GetFileName(directory));
            if (match.Success
                && int.TryParse(match.Groups[1].Value, CultureInfo.InvariantCulture, out var index)
                && int.TryParse(match.Groups[2].Value, CultureInfo.InvariantCulture, out var count)
                && count > 0 && index < count)
            {
                found.Add((new ShardSpec(index, count), directory));
            }
        }
        return [.. found.OrderBy(s => s.Item1.Count).ThenBy(s => s.Item1.Index)];
    }

    /// <summary>Gets the items of the job <paramref name="options"/> describe out of <paramref name="itemCount"/>: [start, end).</summary>
    /// <exception cref="SkimConfigException">The start lies beyond the items.</exception>
    public static ShardRange JobRange(Step1Options options, long itemCount)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Start >= itemCount && itemCount > 0)
        {
            throw new SkimConfigException($"start: expected an item index below the {itemCount} items, found {options.Start}");
        }
        var end = Math.Min(options.End ?? itemCount, itemCount);
        return new ShardRange(options.Start, Math.Max(0, end - options.Start));
    }

    /// <summary>Gets the items of <paramref name="options"/>' shard of its job.</summary>
    public static ShardRange ShardItems(Step1Options options, long itemCount)
    {
        var job = JobRange(options, itemCount);
        var part = options.ParseShard().Range(job.Length);
        return new ShardRange(job.Start + part.Start, part.Length);
    }

    [GeneratedRegex(@"^(\d+)-of-(\d+)$")]
    private static partial Regex ShardName();
}
