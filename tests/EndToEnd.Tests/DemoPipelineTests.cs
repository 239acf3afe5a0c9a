using System.Text.Json;
using Skim.Core.Formats.Npz;
using Skim.Core.Manifests;
using Skim.Pipelines.Running;

namespace Skim.EndToEnd.Tests;

/// <summary>The bundled demo pipeline, end to end, as a user runs it.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class DemoPipelineTests
{
    private static readonly string[] s_stages = ["slm-base", "mapping-encoder", "step-0", "finetune", "step-1", "step-2", "baseline", "baseline-eval", "skim", "skim-eval", "compare"];

    [Fact]
    public async Task The_demo_runs_end_to_end_adds_pairs_well_above_chance_then_skips_everything_and_reruns_only_downstream_of_a_changed_file()
    {
        using var work = new TempDirectory();
        // The demo's own settings, in a private work folder.
        var sets = new[] { $"work={work.Path}", $"dataset={Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo")}", $"template={Path.Combine(PythonReference.RepositoryRoot, "prompts", "demo-query-generation.txt")}" };
        PipelineRunResult Run() => PipelineRunner.RunAsync(Skim.Pipelines.Definition.PipelineFile.Load(DemoPipeline.File, sets), new PipelineSelection(), null, CancellationToken.None).GetAwaiter().GetResult();

        var first = await Task.Run(Run);
        Assert.Equal(s_stages, first.Stages.Select(s => s.Name));
        Assert.All(first.Stages, s => Assert.Equal("ran", s.Status));

        // Step-2's added pairs, checked against the complete matrix the demo keeps beside the observed one.
        var mapped = Path.Combine(work.Path, "skim-augmented-datasets", "demo");
        var precision = DemoPipeline.Summary(mapped, "precision");
        var chance = DemoPipeline.Summary(mapped, "random_precision");
        Assert.True(DemoPipeline.Summary(mapped, "pairs_added") >= 100, "step-2 added fewer than 100 pairs");
        Assert.True(precision >= 10 * chance, $"precision of the added pairs {precision:P2} is not clearly above chance {chance:P3}");

        // The comparison holds both runs, with the values skim eval wrote for each.
        var compare = JsonDocument.Parse(File.ReadAllText(Path.Combine(work.Path, "skim-models", "demo", "compare", "compare.json")));
        var evaluated = JsonDocument.Parse(File.ReadAllText(Path.Combine(work.Path, "skim-models", "demo", "skim-eval", "metrics.json")));
        Assert.Contains("\"skim\"", compare.RootElement.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(evaluated.RootElement.GetProperty("metrics").GetProperty("P").GetProperty("1").GetDouble(), DemoPipeline.Summary(Path.Combine(work.Path, "skim-models", "demo", "skim-eval"), "P@1"), 12);
        var report = File.ReadAllText(Path.Combine(work.Path, "skim-models", "demo", "report.md"));
        Assert.Contains("| step-2 | step-2 | ran |", report, StringComparison.Ordinal);
        Assert.Contains("PSP", report, StringComparison.Ordinal);

        // A second run finds every manifest up to date.
        var second = await Task.Run(Run);
        Assert.All(second.Stages, s => Assert.Equal("skipped", s.Status));

        // Changing step-2's output changes the input of the SKIM model: it and what follows run again.
        var augmented = Path.Combine(mapped, "trn_X_Y_skim.npz");
        var matrix = SparseNpz.Load(augmented);
        matrix.Data[0] = matrix.Data[0] == 1f ? 0.95f : 1f;
        SparseNpz.Save(augmented, matrix);
        var third = await Task.Run(Run);
        Assert.Equal(["skim", "skim-eval", "compare"], third.Stages.Where(s => s.Status != "skipped").Select(s => s.Name));
        Assert.All(third.Stages.Where(s => s.Status != "skipped"), s => Assert.Equal("re-ran", s.Status));
    }

    [Fact]
    public async Task Killing_the_pipeline_inside_stages_and_running_it_again_ends_with_the_outputs_of_an_uninterrupted_run()
    {
        using var reference = new TempDirectory();
        using var killed = new TempDirectory();
        // Both runs are child processes: libtorch's worker threads, once started in this process, would
        // keep the cores busy and delay the moment of each kill.
        await DemoPipeline.RunToEndAsync(reference.Path);

        // SIGKILL a child `skim pipeline run` inside each stage in turn: each re-run skips what
        // finished and resumes or restarts the stage it was killed in.
        var random = new Random(7);
        // Each stage's folder appears when it starts; the kill lands a random moment after that.
        var stages = new[]
        {
            ("slm-base", "pretrained-models/demo-slm"), ("mapping-encoder", "pretrained-models/demo"), ("step-0", "llm-responses/demo"),
            ("finetune", "finetuned-slms/demo"), ("step-1", "slm-generations/demo"), ("step-2", "skim-augmented-datasets/demo"),
            ("baseline", "skim-models/demo/baseline"), ("baseline-eval", "skim-models/demo/baseline-eval"), ("skim", "skim-models/demo/skim"),
            ("skim-eval", "skim-models/demo/skim-eval"),
        };
        var kills = 0;
        foreach (var (stage, folder) in stages)
        {
            // A stage shorter than the delay is killed in the one after it: still a kill mid-run.
            var delay = random.Next(100, 1200);
            // A thread of its own that sleeps and polls: timer-driven continuations can lag by seconds
            // while the child keeps both cores busy, and the kill must land inside the stage.
            var (exitCode, output) = await Task.Factory.StartNew(() => DemoPipeline.KillInside(killed.Path, Path.Combine(killed.Path, folder), delay), TaskCreationOptions.LongRunning);
            Assert.False(output.Contains("error:", StringComparison.Ordinal), $"a re-run after a kill failed in {stage}: {output}");
            kills += exitCode != 0 ? 1 : 0;
        }
        // A late stage may find everything before it done and finish inside the delay; most runs die.
        Assert.True(kills >= stages.Length - 2, $"only {kills} of {stages.Length} runs were killed before they finished");
        var finished = await DemoPipeline.RunToEndAsync(killed.Path);
        Assert.Contains("stages ran", finished, StringComparison.Ordinal);

        string[] sameBytes =
        [
            "llm-responses/demo/sft/train.json",
            "slm-generations/demo/raw_rewrites.txt",
            "slm-generations/demo/start_indices.npy",
            "skim-augmented-datasets/demo/ngbr_indices_mat.npy",
            "skim-augmented-datasets/demo/trn_X_Y_skim.npz",
        ];
        foreach (var file in sameBytes)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(reference.Path, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(killed.Path, file))), $"{file} differs from the uninterrupted run's");
        }
        foreach (var run in new[] { "baseline-eval", "skim-eval" })
        {
            var a = RunManifest.Read(Path.Combine(reference.Path, "skim-models", "demo", run))!.Summary!;
            var b = RunManifest.Read(Path.Combine(killed.Path, "skim-models", "demo", run))!.Summary!;
            foreach (var metric in new[] { "P@1", "P@5", "nDCG@5", "PSP@5", "R@100" })
            {
                Assert.Equal(a[metric]!.GetValue<double>(), b[metric]!.GetValue<double>(), 6);
            }
        }
    }
}

/// <summary>End-to-end tests run one at a time: each keeps both cores busy.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EndToEndCollection
{
    public const string Name = "end to end";
}
