using System.Text.Json.Nodes;
using Skim.Core.Manifests;

namespace Skim.Core.Stages;

/// <summary>
/// The two manifests every stage writes: an incomplete one when it starts (so that a killed run is
/// recognised as interrupted with these options and inputs, and resumed rather than redone) and a
/// complete one, with outputs and summary, when it ends.
/// </summary>
public static class StageManifests
{
    /// <summary>Writes the incomplete manifest of a stage that is starting in <paramref name="directory"/>; returns when it started.</summary>
    /// <param name="kind">The stage kind (e.g. "step-2").</param>
    /// <param name="options">The options record (serialised as manifests hold them).</param>
    /// <param name="seed">The stage's seed.</param>
    /// <param name="inputs">The stage's inputs (as <see cref="IStage.Inputs"/> lists them).</param>
    /// <param name="directory">The output folder (created when missing).</param>
    public static DateTimeOffset WriteStarted(string kind, object options, long seed, IEnumerable<string> inputs, string directory)
    {
        Directory.CreateDirectory(directory);
        var started = DateTimeOffset.UtcNow;
        var previous = RunManifest.Read(directory);
        new RunManifest
        {
            Stage = kind,
            Options = RunManifest.OptionsNode(options),
            Seed = seed,
            Inputs = StageFreshness.DescribeInputs(inputs),
            // A resumed run keeps the first start, so durations add up over interruptions.
            Started = previous is { Complete: false } && previous.Stage == kind ? previous.Started : started,
            Complete = false,
        }.Write(directory);
        return started;
    }

    /// <summary>Writes the complete manifest (outputs hashed relative to the folder, summary, duration).</summary>
    /// <param name="kind">The stage kind.</param>
    /// <param name="options">The options record.</param>
    /// <param name="seed">The stage's seed.</param>
    /// <param name="inputs">The stage's inputs.</param>
    /// <param name="directory">The output folder.</param>
    /// <param name="outputs">Output files or folders (absolute, or relative to the working directory).</param>
    /// <param name="summary">Numbers worth keeping.</param>
    /// <param name="started">When this run started (from <see cref="WriteStarted"/>).</param>
    public static void WriteComplete(string kind, object options, long seed, IEnumerable<string> inputs, string directory, IEnumerable<string> outputs, JsonObject summary, DateTimeOffset started)
    {
        var previous = RunManifest.Read(directory);
        new RunManifest
        {
            Stage = kind,
            Options = RunManifest.OptionsNode(options),
            Seed = seed,
            Inputs = StageFreshness.DescribeInputs(inputs),
            Outputs = [.. outputs.SelectMany(o => RunManifest.Describe(o, directory)).Where(f => f.Path != RunManifest.FileName)],
            Started = previous?.Started ?? started,
            Seconds = (DateTimeOffset.UtcNow - started).TotalSeconds,
            Summary = (JsonObject)summary.DeepClone(),
            Complete = true,
        }.Write(directory);
    }
}
