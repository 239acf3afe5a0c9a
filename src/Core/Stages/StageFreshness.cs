using System.Text.Json.Nodes;
using Skim.Core.Manifests;

namespace Skim.Core.Stages;

/// <summary>What a runner should do with a stage, and why.</summary>
public enum StageAction
{
    /// <summary>Nothing there yet: run it.</summary>
    Run,

    /// <summary>A complete manifest with the same options and inputs: skip it.</summary>
    Skip,

    /// <summary>An incomplete manifest with the same options and inputs: run it, and it resumes.</summary>
    Resume,

    /// <summary>A manifest whose options or inputs differ: run it again from scratch.</summary>
    Rerun,
}

/// <summary>A decision with its reason (shown by <c>--dry-run</c>).</summary>
/// <param name="Action">What to do.</param>
/// <param name="Reason">Why, in a few words.</param>
public sealed record StageDecision(StageAction Action, string Reason);

/// <summary>
/// Compares a stage's <c>manifest.json</c> with the options and inputs of the next run. Stages
/// write manifests with <see cref="RunManifest.OptionsNode{T}"/> of their options record and
/// <see cref="DescribeInputs"/> of <see cref="IStage.Inputs"/>, so that this comparison holds.
/// </summary>
public static class StageFreshness
{
    /// <summary>Describes input files and folders (absolute paths, sizes, hashes), in the stage's order; paths that do not exist are left out.</summary>
    public static IReadOnlyList<ManifestFile> DescribeInputs(IEnumerable<string> inputs) =>
        [.. inputs.SelectMany(path => RunManifest.Describe(Path.GetFullPath(path)))];

    /// <summary>Decides what to do with a stage given its options and inputs.</summary>
    public static StageDecision Decide(IStage stage, object options)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var manifest = RunManifest.Read(stage.OutputDirectory(options));
        if (manifest is null)
        {
            return new StageDecision(StageAction.Run, "no manifest");
        }
        if (!JsonNode.DeepEquals(manifest.Options, RunManifest.OptionsNode(options)))
        {
            return new StageDecision(StageAction.Rerun, "options changed");
        }
        var now = DescribeInputs(stage.Inputs(options));
        var changed = FirstDifference(manifest.Inputs, now);
        if (changed is not null)
        {
            return new StageDecision(StageAction.Rerun, $"input changed: {changed}");
        }
        return manifest.Complete
            ? new StageDecision(StageAction.Skip, "up to date")
            : new StageDecision(StageAction.Resume, "interrupted run");
    }

    private static string? FirstDifference(IReadOnlyList<ManifestFile> before, IReadOnlyList<ManifestFile> now)
    {
        var old = before.ToDictionary(f => f.Path, f => f.XxHash128, StringComparer.Ordinal);
        foreach (var file in now)
        {
            if (!old.Remove(file.Path, out var hash) || hash != file.XxHash128)
            {
                return file.Path;
            }
        }
        return old.Keys.FirstOrDefault();
    }
}
