using System.Diagnostics;
using System.Text.Json.Nodes;
using Skim.Core.Manifests;
using Skim.Pipelines.Definition;
using Skim.Pipelines.Running;

namespace Skim.EndToEnd.Tests;

/// <summary>
/// The bundled demo pipeline (pipelines/demo.yaml) at a reduced setting: the same stages, files and
/// code paths, with fewer items, steps and tokens so that a run takes seconds. Every run writes into
/// its own work folder (the pipeline's <c>work</c> variable).
/// </summary>
internal static class DemoPipeline
{
    /// <summary>The pipeline file.</summary>
    public static string File => Path.Combine(PythonReference.RepositoryRoot, "pipelines", "demo.yaml");

    /// <summary>The overrides that shrink the demo, as <c>--set</c> arguments.</summary>
    public static string[] Reduced(string work) =>
    [
        $"work={work}",
        $"dataset={Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo")}",
        $"template={Path.Combine(PythonReference.RepositoryRoot, "prompts", "demo-query-generation.txt")}",
        $"slm-base.corpus_files={Path.Combine(PythonReference.RepositoryRoot, "prompts", "demo-query-generation.txt")}",
        "slm-base.vocab_size=600",
        "mapping-encoder.epochs=1",
        "baseline.epochs=1",
        "skim.epochs=1",
        "step-0.items=200",
        "finetune.epochs=1",
        "finetune.micro_batch_size=32",
        "finetune.global_batch_size=32",
        "step-1.max_new_tokens=8",
        "step-1.batch_size=32",
    ];

    /// <summary>Loads the reduced demo pipeline writing into <paramref name="work"/>.</summary>
    public static PipelineDefinition Load(string work, params string[] more) => PipelineFile.Load(File, [.. Reduced(work), .. more]);

    /// <summary>Runs it in this process.</summary>
    public static Task<PipelineRunResult> RunAsync(string work, CancellationToken ct = default) =>
        PipelineRunner.RunAsync(Load(work), new PipelineSelection(), null, ct);

    /// <summary>Starts <c>skim pipeline run</c> on it in a child process (for kill tests), from the repository root.</summary>
    public static Process Start(string work)
    {
        var skim = Path.Combine(AppContext.BaseDirectory, "skim.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = PythonReference.RepositoryRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(skim);
        start.ArgumentList.Add("pipeline");
        start.ArgumentList.Add("run");
        start.ArgumentList.Add(File);
        foreach (var set in Reduced(work))
        {
            start.ArgumentList.Add("--set");
            start.ArgumentList.Add(set);
        }
        return Process.Start(start) ?? throw new InvalidOperationException("could not start skim");
    }

    /// <summary>Runs <c>skim pipeline run</c> on it in a child process to the end; returns its output, failing on a non-zero exit.</summary>
    public static async Task<string> RunToEndAsync(string work)
    {
        using var child = Start(work);
        var output = child.StandardOutput.ReadToEndAsync();
        var errors = child.StandardError.ReadToEndAsync();
        await child.WaitForExitAsync();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"skim pipeline run exited with {child.ExitCode}: {await errors}");
        }
        return await output;
    }

    /// <summary>
    /// Starts the pipeline in a child process, waits until <paramref name="folder"/> appears (the
    /// stage has started), sleeps <paramref name="delayMs"/> and SIGKILLs it; returns its exit code and output.
    /// </summary>
    public static (int ExitCode, string Output) KillInside(string work, string folder, int delayMs)
    {
        using var child = Start(work);
        var output = child.StandardOutput.ReadToEndAsync();
        var errors = child.StandardError.ReadToEndAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            while (!Directory.Exists(folder) && !child.HasExited && clock.Elapsed < TimeSpan.FromMinutes(5))
            {
                Thread.Sleep(20);
            }
            if (!child.HasExited)
            {
                Thread.Sleep(delayMs);
            }
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
            child.WaitForExit();
        }
        return (child.ExitCode, output.GetAwaiter().GetResult() + errors.GetAwaiter().GetResult());
    }

    /// <summary>A stage's summary number from its manifest.</summary>
    public static double Summary(string folder, string key) =>
        RunManifest.Read(folder)?.Summary?[key] is JsonValue value ? double.Parse(value.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) : double.NaN;
}
