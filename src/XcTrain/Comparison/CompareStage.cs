using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Manifests;
using Skim.Core.Stages;

namespace Skim.XcTrain.Comparison;

/// <summary>
/// <see cref="XcComparison"/> as a pipeline stage (kind <c>compare</c>): its folder holds the report
/// and a manifest, so a pipeline re-runs it only when a run's scores or manifest, the dataset or the
/// options changed. The comparison is one short unit of work; an interrupted one is simply redone.
/// </summary>
public sealed class CompareStage : Stage<XcComparisonOptions>
{
    /// <inheritdoc/>
    public override string Kind => "compare";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Inputs(XcComparisonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var split = XcDataset.NormalizeSplit(options.Split);
        var inputs = new List<string>();
        var trainedOn = new List<string>();
        foreach (var run in options.Runs)
        {
            var folder = Directory.Exists(run) ? run : Path.GetDirectoryName(Path.GetFullPath(run))!;
            inputs.Add(Directory.Exists(run) ? Path.Combine(run, $"{split}_scores.npz") : run);
            var manifest = Path.Combine(folder, RunManifest.FileName);
            if (File.Exists(manifest))
            {
                inputs.Add(manifest);
                trainedOn.AddRange(TrainedOn(folder));
            }
        }
        // The dataset (given, or the one the runs name) and any train matrix a run used (recovery).
        if (options.DatasetDirectory is { } dataset)
        {
            inputs.Add(dataset);
        }
        foreach (var path in trainedOn.Distinct(StringComparer.Ordinal))
        {
            if (options.DatasetDirectory is null || !path.Equals(options.DatasetDirectory, StringComparison.Ordinal))
            {
                inputs.Add(path);
            }
        }
        if (options.TruthPath is { } truth)
        {
            inputs.Add(truth);
        }
        return inputs;
    }

    /// <summary>The dataset folder and train matrix a run's train manifest names (none when it is unreadable).</summary>
    private static IEnumerable<string> TrainedOn(string folder)
    {
        RunManifest? manifest;
        try
        {
            manifest = RunManifest.Read(folder);
        }
        catch (SkimException)
        {
            // Inputs only describe; the comparison itself reports a broken manifest.
            manifest = null;
        }
        if (manifest is { Stage: "train", Options: JsonObject options })
        {
            foreach (var key in (string[])["dataset_directory", "train_matrix_path"])
            {
                if (options[key]?.GetValue<string>() is { } path)
                {
                    yield return path;
                }
            }
        }
    }

    /// <inheritdoc/>
    protected override string OutputDirectory(XcComparisonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.ResolvedOutputDirectory;
    }

    /// <inheritdoc/>
    protected override void Validate(XcComparisonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
    }

    /// <inheritdoc/>
    protected override Task<JsonObject> RunAsync(XcComparisonOptions options, IProgress<StageProgress>? progress, CancellationToken ct) =>
        Task.Run(() => Run(options, progress, ct), ct);

    private JsonObject Run(XcComparisonOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var inputs = Inputs(options);
        var directory = options.ResolvedOutputDirectory;
        var started = StageManifests.WriteStarted(Kind, options, 0, inputs, directory);
        progress?.Report(new StageProgress("compare", 0, 1, "reports"));
        var report = XcComparison.Run(options, ct);
        progress?.Report(new StageProgress("compare", 1, 1, "reports"));
        var summary = Summary(report);
        StageManifests.WriteComplete(Kind, options, 0, inputs, directory, report.Files.Select(f => Path.Combine(report.OutputDirectory, f)), summary, started);
        return summary;
    }

    /// <summary>The numbers a pipeline shows: each run's P@k, nDCG@k, PSP@k, PSnDCG@k and R@k at every k, keyed "RUN METRIC@k".</summary>
    internal static JsonObject Summary(XcComparisonReport report)
    {
        var summary = new JsonObject { ["runs"] = report.Runs.Count };
        foreach (var run in report.Runs)
        {
            foreach (var name in (ReadOnlySpan<string>)["P", "nDCG", "PSP", "PSnDCG", "R"])
            {
                foreach (var k in report.K)
                {
                    summary[string.Create(CultureInfo.InvariantCulture, $"{run.Name} {name}@{k}")] = run.Metrics[name][k.ToString(CultureInfo.InvariantCulture)];
                }
            }
        }
        return summary;
    }
}
