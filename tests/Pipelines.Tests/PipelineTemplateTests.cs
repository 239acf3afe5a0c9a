using Skim.Pipelines.Definition;

namespace Skim.Pipelines.Tests;

public sealed class PipelineTemplateTests
{
    private static string Committed => File.ReadAllText(Path.Combine(PythonReference.RepositoryRoot, "pipelines", "template.yaml"));

    [Fact]
    public void The_committed_template_is_what_the_options_documentation_generates()
    {
        // When this fails, an option changed: regenerate with `skim pipeline template --out pipelines/template.yaml`.
        Assert.Equal(PipelineTemplate.Render(), Committed);
    }

    [Fact]
    public void The_template_names_every_stage_kind_and_parses_as_a_pipeline()
    {
        var pipeline = PipelineFile.Parse(Committed, "template.yaml");
        Assert.Equal(StageCatalog.Default.Kinds, pipeline.Stages.Select(s => s.Kind));
        Assert.Contains("    # (required) ", Committed, StringComparison.Ordinal);
        Assert.Contains("# dtype: float32", Committed, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_pipelines_parse_and_the_paper_pipelines_use_the_paper_mapping_rule()
    {
        foreach (var name in new[] { "demo", "orcas", "wiki" })
        {
            var pipeline = PipelineFile.Load(Path.Combine(PythonReference.RepositoryRoot, "pipelines", name + ".yaml"));
            Assert.Contains(pipeline.Stages, s => s.Kind == "step-2");
        }
        var orcas = PipelineFile.Load(Path.Combine(PythonReference.RepositoryRoot, "pipelines", "orcas.yaml"));
        var mapping = Assert.IsType<Skim.MapQueries.Step2.Step2Options>(orcas.Stages.Single(s => s.Kind == "step-2").Options);
        Assert.Equal((10, 0.8f, 200), (mapping.TopK, mapping.Threshold, mapping.Knn));
    }

    [Fact]
    public void A_dry_run_of_a_pipeline_for_another_machine_plans_every_stage_and_says_what_is_missing()
    {
        foreach (var name in new[] { "orcas", "wiki" })
        {
            var pipeline = PipelineFile.Load(Path.Combine(PythonReference.RepositoryRoot, "pipelines", name + ".yaml"));
            var plan = Skim.Pipelines.Running.PipelinePlanner.Plan(pipeline, new Skim.Pipelines.Running.PipelineSelection(), dryRun: true);
            Assert.Equal(pipeline.Stages.Count, plan.Count);
            Assert.StartsWith("not ready: input ", plan.Single(p => p.Stage.Name == "step-0").Decision.Reason, StringComparison.Ordinal);
            Assert.Equal(["step-0", "finetune", "step-1", "step-2", "baseline", "baseline-eval", "skim", "skim-eval", "compare"], plan.Select(p => p.Stage.Name).Where(n => n != "mapping-encoder"));
            // Without --dry-run the same plan is refused, naming the missing input.
            var e = Assert.Throws<Skim.Core.SkimConfigException>(() => Skim.Pipelines.Running.PipelinePlanner.Plan(pipeline, new Skim.Pipelines.Running.PipelineSelection()));
            Assert.Contains("does not exist and no stage of the pipeline writes it", e.Message, StringComparison.Ordinal);
        }
    }
}
