using Skim.Core;
using Skim.Pipelines.Definition;
using Skim.Pipelines.Stages;
using Skim.XcTrain.Training;

namespace Skim.Pipelines.Tests;

public sealed class PipelineFileTests
{
    private static readonly StageCatalog s_catalog = new([new CopyStage(), new TrainStage()]);

    private static PipelineDefinition Parse(string yaml, params string[] sets) => PipelineFile.Parse(yaml, "p.yaml", sets, s_catalog);

    [Fact]
    public void Stage_keys_fill_the_options_record_in_snake_case_with_variables_substituted()
    {
        var pipeline = Parse("""
            name: demo
            vars:
              work: runs/demo
              ds: data/demo
            stages:
              baseline:
                kind: train
                dataset_directory: ${ds}
                output_directory: ${work}/baseline
                model: ngame
                epochs: 3
                learning_rate: 5e-4
                normalize: false
            """);
        var options = Assert.IsType<XcTrainOptions>(Assert.Single(pipeline.Stages).Options);
        Assert.Equal("data/demo", options.DatasetDirectory);
        Assert.Equal("runs/demo/baseline", options.OutputDirectory);
        Assert.Equal(XcModelKind.Ngame, options.Model);
        Assert.Equal(3, options.Epochs);
        Assert.Equal(5e-4, options.LearningRate);
        Assert.False(options.Normalize);
        Assert.Equal(new XcTrainOptions { DatasetDirectory = "", OutputDirectory = "" }.BatchSize, options.BatchSize);
    }

    [Fact]
    public void An_evaluate_stage_passes_classifier_fusion_settings_to_predict()
    {
        // Given an evaluate stage scoring with the run's classifier fused by weighted sum
        var pipeline = PipelineFile.Parse("""
            name: demo
            stages:
              eval:
                kind: evaluate
                run_directory: runs/base
                output_directory: runs/base-eval
                method: classifier-fusion
                fusion: sum
                fusion_weight: 0.3
                classifier_directory: runs/base-clf
            """, "p.yaml", [], new StageCatalog([new EvaluateStage()]));

        // When its options become predict options
        var options = Assert.IsType<EvaluateStageOptions>(Assert.Single(pipeline.Stages).Options);
        var predict = options.PredictOptions;

        // Then method, fusion kind, weight and classifier folder reach predict, which writes into the stage's folder
        Assert.Equal(Skim.XcTrain.Prediction.PredictionMethod.ClassifierFusion, predict.Method);
        Assert.Equal(Skim.XcTrain.Fusion.FusionKind.Sum, predict.Fusion);
        Assert.Equal(0.3, predict.FusionWeight);
        Assert.Equal("runs/base-clf", predict.ResolvedClassifierDirectory);
        Assert.StartsWith("runs/base-eval", predict.ResolvedOutputPath, StringComparison.Ordinal);
    }

    [Fact]
    public void Set_overrides_a_variable_and_a_stage_option()
    {
        var pipeline = Parse("""
            vars: { n: "1" }
            stages:
              a: { kind: copy, input: in.txt, output_directory: out/a, repeat: "${n}" }
            """, "n=2", "a.suffix=!");
        var options = Assert.IsType<CopyOptions>(pipeline.Stages[0].Options);
        Assert.Equal(2, options.Repeat);
        Assert.Equal("!", options.Suffix);
    }

    [Fact]
    public void An_unknown_key_names_its_line_and_the_allowed_keys()
    {
        var e = Assert.Throws<SkimConfigException>(() => Parse("""
            stages:
              a:
                kind: copy
                input: in.txt
                output_directory: out/a
                repeats: 2
            """));
        Assert.StartsWith("p.yaml:6: stage 'a' (copy): unknown key 'repeats'; allowed: kind, provided, input, output_directory, suffix, repeat", e.Message);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_its_line_and_the_expected_type()
    {
        var e = Assert.Throws<SkimConfigException>(() => Parse("""
            stages:
              a:
                kind: copy
                input: in.txt
                output_directory: out/a
                repeat: twice
            """));
        Assert.Contains("p.yaml:6:", e.Message, StringComparison.Ordinal);
        Assert.Contains("expected an integer, found 'twice'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_enum_value_outside_its_choices_lists_them()
    {
        var e = Assert.Throws<SkimConfigException>(() => Parse("""
            stages:
              t:
                kind: train
                dataset_directory: d
                output_directory: o
                model: bert
            """));
        Assert.Contains("key 'model': expected one of ngame, dexml", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 6", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_required_key_is_named()
    {
        var e = Assert.Throws<SkimConfigException>(() => Parse("""
            stages:
              a:
                kind: copy
                input: in.txt
            """));
        Assert.Contains("stage 'a' (copy): missing required key(s): output_directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_kinds_variables_and_top_level_keys_are_errors_naming_the_line()
    {
        var kind = Assert.Throws<SkimConfigException>(() => Parse("stages:\n  a:\n    kind: bake\n"));
        Assert.Equal("p.yaml:3: stage 'a': unknown kind 'bake'; kinds: copy, train", kind.Message);
        var variable = Assert.Throws<SkimConfigException>(() => Parse("stages:\n  a: { kind: copy, input: \"${nope}\", output_directory: o }\n"));
        Assert.StartsWith("p.yaml:2: unknown variable ${nope}", variable.Message, StringComparison.Ordinal);
        var top = Assert.Throws<SkimConfigException>(() => Parse("stage:\n  a: { kind: copy }\n"));
        Assert.Equal("p.yaml:1: pipeline: unknown key 'stage'; allowed: name, vars, report, stages", top.Message);
    }

    [Fact]
    public void Set_naming_a_stage_that_does_not_exist_is_refused()
    {
        var e = Assert.Throws<SkimConfigException>(() => Parse("stages:\n  a: { kind: copy, input: i, output_directory: o }\n", "b.repeat=2"));
        Assert.Contains("no stage named 'b'", e.Message, StringComparison.Ordinal);
    }
}
