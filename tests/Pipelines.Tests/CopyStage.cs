using System.Text.Json.Nodes;
using Skim.Core.Stages;

namespace Skim.Pipelines.Tests;

/// <summary>Options of <see cref="CopyStage"/>.</summary>
public sealed record CopyOptions
{
    /// <summary>The file to read.</summary>
    public required string Input { get; init; }

    /// <summary>The folder to write.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Text appended to the copy (an option whose change must re-run the stage).</summary>
    public string Suffix { get; init; } = "";

    /// <summary>How many times to repeat the text.</summary>
    public int Repeat { get; init; } = 1;
}

/// <summary>
/// A small real stage for testing the runner's bookkeeping: copies a file into its folder with the
/// manifests every stage writes, and counts its runs in a side file so tests see what ran.
/// </summary>
public sealed class CopyStage : Stage<CopyOptions>
{
    public override string Kind => "copy";

    /// <summary>A file the stage keeps on a re-run (like step-0's paid answers).</summary>
    public override IReadOnlyList<string> KeptOnRerun => ["cache.txt"];

    protected override IReadOnlyList<string> Inputs(CopyOptions options) => [options.Input];

    protected override string OutputDirectory(CopyOptions options) => options.OutputDirectory;

    protected override void Validate(CopyOptions options)
    {
        if (options.Repeat < 1)
        {
            throw new Skim.Core.SkimConfigException($"repeat: expected at least 1, found {options.Repeat}");
        }
    }

    protected override Task<JsonObject> RunAsync(CopyOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var started = StageManifests.WriteStarted(Kind, options, 0, [options.Input], options.OutputDirectory);
        var output = Path.Combine(options.OutputDirectory, "out.txt");
        var text = string.Concat(Enumerable.Repeat(File.ReadAllText(options.Input) + options.Suffix, options.Repeat));
        File.WriteAllText(output, text);
        File.AppendAllText(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.OutputDirectory))!, "runs.log"), Path.GetFileName(options.OutputDirectory) + "\n");
        var summary = new JsonObject { ["chars"] = text.Length };
        StageManifests.WriteComplete(Kind, options, 0, [options.Input], options.OutputDirectory, [output], summary, started);
        return Task.FromResult(summary);
    }
}
