using System.Globalization;
using System.Text;
using Skim.Core;
using Skim.Core.IO;
using Skim.Pipelines.Definition;
using Skim.Pipelines.Running;

namespace Skim.Pipelines.Scaleout;

/// <summary>The schedulers a plan is written for.</summary>
public enum ClusterScheduler
{
    /// <summary>Slurm: array jobs chained with <c>--dependency=afterok</c>.</summary>
    Slurm,

    /// <summary>Kubernetes: Indexed Jobs applied and awaited in order.</summary>
    K8s,
}

/// <summary>Options of <see cref="ClusterPlan.Write"/>.</summary>
public sealed record ClusterPlanOptions
{
    /// <summary>Gets the pipeline file the jobs run (as the jobs will see its path). Required.</summary>
    public required string PipelinePath { get; init; }

    /// <summary>Gets the folder the scripts go to. Required.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Gets the shards of each shardable stage. Defaults to 4.</summary>
    public int Shards { get; init; } = 4;

    /// <summary>Gets the scheduler. Defaults to Slurm.</summary>
    public ClusterScheduler Scheduler { get; init; } = ClusterScheduler.Slurm;

    /// <summary>Gets the command that runs Skim on the cluster's nodes. Defaults to "skim".</summary>
    public string SkimCommand { get; init; } = "skim";

    /// <summary>Gets the container image (Kubernetes). Defaults to "skim:latest".</summary>
    public string Image { get; init; } = "skim:latest";

    /// <summary>Gets <c>--set</c> overrides passed to every job. Defaults to none.</summary>
    public IReadOnlyList<string> Sets { get; init; } = [];
}

/// <summary>One job of a plan.</summary>
/// <param name="Name">File-safe job name, e.g. "02-step-1".</param>
/// <param name="Command">The command one task runs (shard index as <c>$SHARD</c>).</param>
/// <param name="Tasks">The tasks (shards) of the job; 1 when not sharded.</param>
public sealed record ClusterJob(string Name, string Command, int Tasks);

/// <summary>
/// Writes ready-to-submit scripts for a pipeline on a cluster: stages with a <c>shard</c> option
/// (step-1's generation, step-2's embedding and kNN) become array jobs / Indexed Jobs of N tasks,
/// each running <c>skim pipeline run FILE --only STAGE --set STAGE.shard=K/N</c>, followed by the
/// stage's merge; runs of other stages between them become single jobs. A <c>submit.sh</c> submits
/// them in order, each waiting for the previous.
/// </summary>
public static class ClusterPlan
{
    /// <summary>The merge command of each shardable stage kind ({0} = skim, {1} = the stage's output folder).</summary>
    private static readonly Dictionary<string, string> s_merges = new(StringComparer.Ordinal)
    {
        ["step-1"] = "{0} merge step-1 {1}",
    };

    /// <summary>Builds the jobs, in submission order.</summary>
    public static IReadOnlyList<ClusterJob> Jobs(PipelineDefinition pipeline, ClusterPlanOptions options)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Shards < 1)
        {
            throw new SkimConfigException($"--shards: expected at least 1, found {options.Shards}");
        }
        var order = PipelinePlanner.Order(pipeline).Select(o => o.Stage).ToList();
        var sets = string.Concat(options.Sets.Select(s => $" --set {Quote(s)}"));
        var run = $"{options.SkimCommand} pipeline run {Quote(options.PipelinePath)}{sets}";
        var jobs = new List<ClusterJob>();
        var segment = new List<PipelineStage>();
        void FlushSegment()
        {
            if (segment.Count > 0)
            {
                var range = segment.Count == 1 ? $"--only {segment[0].Name}" : $"--from {segment[0].Name} --to {segment[^1].Name}";
                jobs.Add(new ClusterJob(Name(jobs.Count, segment[0].Name), $"{run} {range}", 1));
                segment.Clear();
            }
        }
        foreach (var stage in order)
        {
            if (!IsShardable(stage) || options.Shards == 1)
            {
                segment.Add(stage);
                continue;
            }
            FlushSegment();
            jobs.Add(new ClusterJob(Name(jobs.Count, stage.Name), $"{run} --only {stage.Name} --set {stage.Name}.shard=$SHARD/{options.Shards.ToString(CultureInfo.InvariantCulture)}", options.Shards));
            if (s_merges.TryGetValue(stage.Kind, out var merge))
            {
                var root = PipelinePlanner.Relative(Path.GetFullPath(ShardRoot(stage)));
                jobs.Add(new ClusterJob(Name(jobs.Count, stage.Name + "-merge"), string.Format(CultureInfo.InvariantCulture, merge, options.SkimCommand, Quote(root)), 1));
            }
        }
        FlushSegment();
        return jobs;
    }

    /// <summary>Writes the scripts of <see cref="Jobs"/> and <c>submit.sh</c>; returns the files written.</summary>
    public static IReadOnlyList<string> Write(PipelineDefinition pipeline, ClusterPlanOptions options)
    {
        var jobs = Jobs(pipeline, options);
        Directory.CreateDirectory(options.OutputDirectory);
        var files = new List<string>();
        var submit = new StringBuilder("#!/usr/bin/env bash\n# Submits the jobs of pipeline '" + pipeline.Name + "' in order; each waits for the previous one.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n");
        var previous = (string?)null;
        foreach (var job in jobs)
        {
            string file;
            if (options.Scheduler == ClusterScheduler.Slurm)
            {
                file = Path.Combine(options.OutputDirectory, job.Name + ".sbatch");
                AtomicFile.WriteAllText(file, Slurm(pipeline.Name, job));
                var dependency = previous is null ? "" : " --dependency=afterok:$" + previous;
                submit.Append(CultureInfo.InvariantCulture, $"{Var(job)}=$(sbatch --parsable{dependency} {Path.GetFileName(file)})\necho \"{job.Name}: job ${Var(job)}\"\n");
                previous = Var(job);
            }
            else
            {
                file = Path.Combine(options.OutputDirectory, job.Name + ".yaml");
                AtomicFile.WriteAllText(file, Kubernetes(pipeline.Name, job, options.Image));
                submit.Append(CultureInfo.InvariantCulture, $"kubectl apply -f {Path.GetFileName(file)}\nkubectl wait --for=condition=complete --timeout=-1s job/{JobName(pipeline.Name, job)}\n");
            }
            files.Add(file);
        }
        var script = Path.Combine(options.OutputDirectory, "submit.sh");
        AtomicFile.WriteAllText(script, submit.ToString());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, File.GetUnixFileMode(script) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute);
        }
        files.Add(script);
        return files;
    }

    /// <summary>Whether a stage's options take a <c>shard</c>.</summary>
    public static bool IsShardable(PipelineStage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return PipelineFile.SettableProperties(stage.Stage.OptionsType).ContainsKey("shard");
    }

    // Sharded stages keep their shards below the folder the unsharded stage writes.
    private static string ShardRoot(PipelineStage stage) => stage.Stage.OutputDirectory(stage.Options);

    private static string Slurm(string pipeline, ClusterJob job)
    {
        var text = new StringBuilder("#!/usr/bin/env bash\n");
        text.Append(CultureInfo.InvariantCulture, $"#SBATCH --job-name={pipeline}-{job.Name}\n");
        text.Append(CultureInfo.InvariantCulture, $"#SBATCH --output=logs/{job.Name}-%A_%a.out\n");
        if (job.Tasks > 1)
        {
            text.Append(CultureInfo.InvariantCulture, $"#SBATCH --array=0-{job.Tasks - 1}\n");
        }
        text.Append("# Add the partition, time, CPU/GPU and memory lines your cluster needs.\nset -euo pipefail\n");
        if (job.Tasks > 1)
        {
            text.Append("SHARD=${SLURM_ARRAY_TASK_ID}\n");
        }
        text.Append(job.Command).Append('\n');
        return text.ToString();
    }

    private static string Kubernetes(string pipeline, ClusterJob job, string image)
    {
        var indexed = job.Tasks > 1;
        var command = indexed ? "SHARD=$JOB_COMPLETION_INDEX; " + job.Command : job.Command;
        var text = new StringBuilder();
        text.Append("apiVersion: batch/v1\nkind: Job\nmetadata:\n");
        text.Append(CultureInfo.InvariantCulture, $"  name: {JobName(pipeline, job)}\n");
        text.Append("spec:\n");
        text.Append(CultureInfo.InvariantCulture, $"  completions: {job.Tasks}\n  parallelism: {job.Tasks}\n");
        if (indexed)
        {
            text.Append("  completionMode: Indexed\n");
        }
        text.Append("  backoffLimitPerIndex: 3\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: skim\n");
        text.Append(CultureInfo.InvariantCulture, $"          image: {image}\n");
        text.Append("          # Mount the shared workspace (artifacts/) and set resources here.\n");
        text.Append("          command: [\"/bin/sh\", \"-c\"]\n");
        text.Append(CultureInfo.InvariantCulture, $"          args: [{YamlQuote(command)}]\n");
        return text.ToString();
    }

    private static string Name(int index, string stage) => string.Create(CultureInfo.InvariantCulture, $"{index:D2}-{stage}");

    private static string Var(ClusterJob job) => "job_" + job.Name.Replace('-', '_');

    private static string JobName(string pipeline, ClusterJob job) => $"{pipeline}-{job.Name}".ToLowerInvariant().Replace('_', '-');

    private static string Quote(string text) => text.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '$' or '*') ? "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'" : text;

    private static string YamlQuote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
