using Skim.Core;
using Skim.Core.Stages;
using Skim.Pipelines.Definition;
using Skim.Pipelines.Running;

namespace Skim.Pipelines.Tests;

public sealed class PipelineRunnerTests : IDisposable
{
    private static readonly StageCatalog s_catalog = new([new CopyStage()]);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // c reads b's output, b reads a's; the file lists them out of order on purpose.
    private PipelineDefinition Chain(string suffixB = "", params string[] sets)
    {
        File.WriteAllText(_dir.File("in.txt"), File.Exists(_dir.File("in.txt")) ? File.ReadAllText(_dir.File("in.txt")) : "x");
        var w = _dir.Path;
        return PipelineFile.Parse($"""
            report: {w}/report.md
            stages:
              c: {"{"} kind: copy, input: {w}/b/out.txt, output_directory: {w}/c {"}"}
              b: {"{"} kind: copy, input: {w}/a/out.txt, output_directory: {w}/b, suffix: "{suffixB}" {"}"}
              a: {"{"} kind: copy, input: {w}/in.txt, output_directory: {w}/a {"}"}
              other: {"{"} kind: copy, input: {w}/in.txt, output_directory: {w}/other {"}"}
            """, _dir.File("p.yaml"), sets, s_catalog);
    }

    private string[] Runs() => File.Exists(_dir.File("runs.log")) ? File.ReadAllLines(_dir.File("runs.log")) : [];

    private async Task<PipelineRunResult> RunAsync(PipelineDefinition pipeline, PipelineSelection? selection = null)
    {
        File.Delete(_dir.File("runs.log"));
        return await PipelineRunner.RunAsync(pipeline, selection ?? new PipelineSelection(), null, CancellationToken.None);
    }

    [Fact]
    public async Task Stages_run_in_the_order_their_files_demand_and_a_second_run_skips_them_all()
    {
        var first = await RunAsync(Chain());
        Assert.Equal(["a", "b", "c", "other"], Runs());
        Assert.All(first.Stages, s => Assert.Equal("ran", s.Status));
        Assert.Equal("x", File.ReadAllText(_dir.File("c/out.txt")));

        var second = await RunAsync(Chain());
        Assert.Empty(Runs());
        Assert.All(second.Stages, s => Assert.Equal("skipped", s.Status));
        Assert.Equal(1, second.Stages[0].Summary["chars"]!.GetValue<int>());
    }

    [Fact]
    public async Task Touching_one_stage_input_reruns_exactly_the_stages_downstream()
    {
        await RunAsync(Chain());
        File.WriteAllText(_dir.File("a/out.txt"), "changed by hand");
        var result = await RunAsync(Chain());
        Assert.Equal(["b", "c"], Runs());
        Assert.Equal("re-ran", result.Stages.Single(s => s.Name == "b").Status);
        Assert.Equal("changed by hand", File.ReadAllText(_dir.File("c/out.txt")));
    }

    [Fact]
    public async Task Changing_an_option_reruns_that_stage_and_those_after_it()
    {
        await RunAsync(Chain());
        var result = await RunAsync(Chain(suffixB: "!"));
        Assert.Equal(["b", "c"], Runs());
        Assert.Equal("options changed", result.Stages.Single(s => s.Name == "b").Reason);
        Assert.Equal("x!", File.ReadAllText(_dir.File("c/out.txt")));
    }

    [Fact]
    public async Task The_dry_run_plan_says_what_would_run_and_why_without_running_anything()
    {
        await RunAsync(Chain());
        File.WriteAllText(_dir.File("in.txt"), "y");
        File.Delete(_dir.File("runs.log"));
        var plan = PipelinePlanner.Plan(Chain(), new PipelineSelection());
        Assert.Equal(["a", "b", "c", "other"], plan.Select(p => p.Stage.Name));
        Assert.Equal(StageAction.Rerun, plan[0].Decision.Action);
        Assert.Equal(StageAction.Rerun, plan[1].Decision.Action);
        Assert.StartsWith("input changed", plan[0].Decision.Reason, StringComparison.Ordinal);
        Assert.Equal("after 'a'", plan[1].Decision.Reason);
        Assert.Equal("after 'b'", plan[2].Decision.Reason);
        Assert.Equal(["b"], plan[2].DependsOn);
        Assert.Empty(Runs());
    }

    [Fact]
    public async Task Only_from_to_and_force_select_and_force_stages()
    {
        await RunAsync(Chain());
        var only = await RunAsync(Chain(), new PipelineSelection { Only = ["b"], Force = ["b"] });
        Assert.Equal(["b"], Runs());
        Assert.Equal("not selected", only.Stages.Single(s => s.Name == "a").Status);
        await RunAsync(Chain(), new PipelineSelection { From = "b", To = "c", Force = ["all"] });
        Assert.Equal(["b", "c"], Runs());
    }

    [Fact]
    public async Task An_interrupted_stage_is_resumed_not_redone_from_scratch()
    {
        await RunAsync(Chain());
        // A manifest left incomplete is what a killed stage leaves behind.
        var manifest = Skim.Core.Manifests.RunManifest.Read(_dir.File("c"))!;
        (manifest with { Complete = false }).Write(_dir.File("c"));
        var plan = PipelinePlanner.Plan(Chain(), new PipelineSelection());
        Assert.Equal(StageAction.Resume, plan.Single(p => p.Stage.Name == "c").Decision.Action);
        var result = await RunAsync(Chain());
        Assert.Equal(["c"], Runs());
        Assert.Equal("resumed", result.Stages.Single(s => s.Name == "c").Status);
    }

    [Fact]
    public async Task The_report_holds_every_stage_with_its_status()
    {
        var result = await RunAsync(Chain());
        var report = File.ReadAllText(result.ReportPath!);
        Assert.Contains("| a | copy | ran |", report, StringComparison.Ordinal);
        Assert.Contains("| other | copy | ran |", report, StringComparison.Ordinal);
        Assert.Contains("chars 1", report, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cycle_and_an_input_nobody_writes_are_refused_naming_the_stages()
    {
        var w = _dir.Path;
        var cycle = PipelineFile.Parse($"""
            stages:
              a: {"{"} kind: copy, input: {w}/b/out.txt, output_directory: {w}/a {"}"}
              b: {"{"} kind: copy, input: {w}/a/out.txt, output_directory: {w}/b {"}"}
            """, "p.yaml", null, s_catalog);
        var e = Assert.Throws<SkimConfigException>(() => PipelinePlanner.Order(cycle));
        Assert.Contains("'a' → 'b'", e.Message, StringComparison.Ordinal);
        Assert.Contains("cycle", e.Message, StringComparison.Ordinal);

        var missing = PipelineFile.Parse($"stages:\n  a: {{ kind: copy, input: {w}/nowhere.txt, output_directory: {w}/a }}\n", "p.yaml", null, s_catalog);
        var m = Assert.Throws<SkimConfigException>(() => PipelinePlanner.Order(missing));
        Assert.Equal($"p.yaml:2: stage 'a': input '{w}/nowhere.txt' does not exist and no stage of the pipeline writes it", m.Message);
    }

    [Fact]
    public async Task A_rerun_refuses_to_clear_a_folder_another_stage_kind_wrote()
    {
        await RunAsync(Chain());
        var manifest = Skim.Core.Manifests.RunManifest.Read(_dir.File("a"))!;
        (manifest with { Stage = "train", Options = new System.Text.Json.Nodes.JsonObject() }).Write(_dir.File("a"));
        var e = await Assert.ThrowsAsync<SkimConfigException>(() => RunAsync(Chain()));
        Assert.Contains("holds the output of stage 'train', not 'copy'", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(_dir.File("a/out.txt")));
    }

    [Fact]
    public async Task A_rerun_clears_the_stage_folder_but_keeps_the_files_the_stage_declares_durable()
    {
        await RunAsync(Chain());
        File.WriteAllText(_dir.File("b/cache.txt"), "paid");
        File.WriteAllText(_dir.File("b/stale.txt"), "old");
        await RunAsync(Chain(suffixB: "?"));
        Assert.Equal("paid", File.ReadAllText(_dir.File("b/cache.txt")));
        Assert.False(File.Exists(_dir.File("b/stale.txt")));
    }

    [Fact]
    public async Task A_provided_stage_never_runs_and_the_stages_after_it_read_its_folder()
    {
        // Given a's folder filled by hand (a provided artifact) and the pipeline marking it provided
        Directory.CreateDirectory(_dir.File("a"));
        File.WriteAllText(_dir.File("a/out.txt"), "provided text");
        File.WriteAllText(_dir.File("in.txt"), "x");
        var w = _dir.Path;
        var pipeline = PipelineFile.Parse($"""
            stages:
              a: {"{"} kind: copy, provided: true, input: {w}/in.txt, output_directory: {w}/a {"}"}
              b: {"{"} kind: copy, input: {w}/a/out.txt, output_directory: {w}/b {"}"}
            """, _dir.File("p.yaml"), null, s_catalog);

        var result = await RunAsync(pipeline);

        Assert.Equal(["b"], Runs());
        Assert.Equal("provided", result.Stages.Single(s => s.Name == "a").Status);
        Assert.Equal("provided text", File.ReadAllText(_dir.File("b/out.txt")));
        Assert.Null(Skim.Core.Manifests.RunManifest.Read(_dir.File("a")));
    }
}
