using Skim.Pipelines.Artifacts;

namespace Skim.Pipelines.Tests;

public sealed class ArtifactInventoryTests
{
    [Fact]
    public void Provided_skim_artifacts_are_found_with_the_stages_they_let_a_pipeline_skip()
    {
        using var dir = new TempDirectory();
        var synthetic = SyntheticXcDataset.Write(dir);
        Directory.CreateDirectory(dir.File("artifacts/datasets"));
        Directory.Move(synthetic, dir.File("artifacts/datasets/toy"));
        Directory.CreateDirectory(dir.File("artifacts/llm-responses/toy"));
        File.WriteAllText(dir.File("artifacts/llm-responses/toy/responses_0_to_100.json"), "[]");
        Directory.CreateDirectory(dir.File("artifacts/slm-generations/toy"));
        File.WriteAllText(dir.File("artifacts/slm-generations/toy/raw_rewrites.txt"), "a\n");
        File.WriteAllBytes(dir.File("artifacts/slm-generations/toy/start_indices.npy"), [1]);
        Directory.CreateDirectory(dir.File("artifacts/slm-generations/half"));
        File.WriteAllText(dir.File("artifacts/slm-generations/half/raw_rewrites.txt"), "a\n");
        Directory.CreateDirectory(dir.File("artifacts/skim-augmented-datasets/toy"));
        File.WriteAllBytes(dir.File("artifacts/skim-augmented-datasets/toy/trn_X_Y_skim.npz"), [1]);

        var entries = ArtifactInventory.Scan(dir.File("artifacts"));

        // "half" has raw_rewrites.txt without start_indices.npy: not usable, so not listed.
        Assert.Equal(["XC dataset", "teacher responses", "SLM generations", "augmented matrix"], entries.Select(e => e.Kind));
        Assert.All(entries, e => Assert.Equal("toy", e.Dataset));
        Assert.Equal("step-1", entries[2].Skips);
        Assert.Equal(["responses_0_to_100.json"], entries[1].Files);
        Assert.All(entries, e => Assert.False(e.MadeBySkim));
    }
}
