using Skim.Pipelines.Definition;
using Skim.Pipelines.Scaleout;

namespace Skim.Pipelines.Tests;

/// <summary>Options of <see cref="ShardedStage"/>: a shard option makes a stage shardable.</summary>
public sealed record ShardedOptions
{
    public required string Input { get; init; }

    public required string OutputDirectory { get; init; }

    public string Shard { get; init; } = "0/1";
}

/// <summary>A shardable stage that pipelines call step-1, so that the plan adds step-1's merge after it; plans never run it.</summary>
public sealed class ShardedStage : Skim.Core.Stages.Stage<ShardedOptions>
{
    public override string Kind => "step-1";

    protected override IReadOnlyList<string> Inputs(ShardedOptions options) => [options.Input];

    protected override string OutputDirectory(ShardedOptions options) => options.OutputDirectory;

    protected override void Validate(ShardedOptions options)
    {
    }

    protected override Task<System.Text.Json.Nodes.JsonObject> RunAsync(ShardedOptions options, IProgress<Skim.Core.Stages.StageProgress>? progress, CancellationToken ct) =>
        throw new NotSupportedException("cluster plans write scripts; they never run stages");
}

public sealed class ClusterPlanTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private PipelineDefinition Pipeline()
    {
        File.WriteAllText(_dir.File("in.txt"), "x");
        var w = _dir.Path;
        return PipelineFile.Parse($"""
            name: demo
            stages:
              prepare: {"{"} kind: copy, input: {w}/in.txt, output_directory: {w}/prepare {"}"}
              prepare-more: {"{"} kind: copy, input: {w}/prepare/out.txt, output_directory: {w}/prepare-more {"}"}
              generate: {"{"} kind: step-1, input: {w}/prepare-more/out.txt, output_directory: {w}/gen {"}"}
              train: {"{"} kind: copy, input: {w}/gen/out.txt, output_directory: {w}/train {"}"}
            """, _dir.File("demo.yaml"), null, new StageCatalog([new CopyStage(), new ShardedStage()]));
    }

    [Fact]
    public void Shardable_stages_become_array_jobs_followed_by_their_merge_and_the_rest_runs_in_order()
    {
        var jobs = ClusterPlan.Jobs(Pipeline(), new ClusterPlanOptions { PipelinePath = "pipelines/demo.yaml", OutputDirectory = _dir.File("plan"), Shards = 8 });

        Assert.Equal(["00-prepare", "01-generate", "02-generate-merge", "03-train"], jobs.Select(j => j.Name));
        Assert.Equal([1, 8, 1, 1], jobs.Select(j => j.Tasks));
        Assert.Equal("skim pipeline run pipelines/demo.yaml --from prepare --to prepare-more", jobs[0].Command);
        Assert.Equal("skim pipeline run pipelines/demo.yaml --only generate --set generate.shard=$SHARD/8", jobs[1].Command);
        Assert.StartsWith("skim merge step-1 ", jobs[2].Command, StringComparison.Ordinal);
        Assert.EndsWith("/gen", jobs[2].Command, StringComparison.Ordinal);
        Assert.Equal("skim pipeline run pipelines/demo.yaml --only train", jobs[3].Command);
    }

    [Fact]
    public void Slurm_scripts_carry_the_array_range_and_submit_chains_them_with_afterok()
    {
        var files = ClusterPlan.Write(Pipeline(), new ClusterPlanOptions { PipelinePath = "demo.yaml", OutputDirectory = _dir.File("plan"), Shards = 4 });

        var array = File.ReadAllText(_dir.File("plan/01-generate.sbatch"));
        Assert.Contains("#SBATCH --array=0-3", array, StringComparison.Ordinal);
        Assert.Contains("SHARD=${SLURM_ARRAY_TASK_ID}", array, StringComparison.Ordinal);
        Assert.Contains("--set generate.shard=$SHARD/4", array, StringComparison.Ordinal);
        Assert.DoesNotContain("--array", File.ReadAllText(_dir.File("plan/02-generate-merge.sbatch")), StringComparison.Ordinal);
        var submit = File.ReadAllLines(_dir.File("plan/submit.sh")).Where(l => l.Contains("sbatch", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, submit.Count);
        Assert.Equal("job_00_prepare=$(sbatch --parsable 00-prepare.sbatch)", submit[0]);
        Assert.Equal("job_02_generate_merge=$(sbatch --parsable --dependency=afterok:$job_01_generate 02-generate-merge.sbatch)", submit[2]);
        Assert.Equal(5, files.Count);
    }

    [Fact]
    public void Kubernetes_plans_use_indexed_jobs_for_shards_and_wait_for_each_job_in_order()
    {
        ClusterPlan.Write(Pipeline(), new ClusterPlanOptions { PipelinePath = "demo.yaml", OutputDirectory = _dir.File("k8s"), Shards = 3, Scheduler = ClusterScheduler.K8s });

        var indexed = File.ReadAllText(_dir.File("k8s/01-generate.yaml"));
        Assert.Contains("completionMode: Indexed", indexed, StringComparison.Ordinal);
        Assert.Contains("completions: 3", indexed, StringComparison.Ordinal);
        Assert.Contains("SHARD=$JOB_COMPLETION_INDEX; skim pipeline run demo.yaml --only generate --set generate.shard=$SHARD/3", indexed, StringComparison.Ordinal);
        Assert.DoesNotContain("Indexed", File.ReadAllText(_dir.File("k8s/03-train.yaml")), StringComparison.Ordinal);
        var submit = File.ReadAllLines(_dir.File("k8s/submit.sh"));
        var waits = submit.Where(l => l.StartsWith("kubectl wait", StringComparison.Ordinal)).ToList();
        Assert.Equal(["demo-00-prepare", "demo-01-generate", "demo-02-generate-merge", "demo-03-train"], waits.Select(l => l.Split("job/")[1]));
    }
}
