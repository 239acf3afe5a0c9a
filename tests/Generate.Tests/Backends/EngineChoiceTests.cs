using Skim.Generate.Backends;
using Skim.Generate.Step1;
using Skim.Generate.Tests.Runs;
using Skim.Generate.Tests.Step1;

namespace Skim.Generate.Tests.Backends;

[Collection(GenerateLibTorchCollection.Name)]
public sealed class EngineChoiceTests(Step1Fixture fixture) : IClassFixture<Step1Fixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Auto_measures_every_allowed_engine_on_the_runs_prompts_and_keeps_the_fastest()
    {
        // Given step-1 options on a tiny model (its widths rule out quantised types)
        var options = fixture.Options(_dir.File("run")) with
        {
            Backend = "auto",
            TemplatePath = Path.Combine(PythonReference.RepositoryRoot, "prompts", "demo-query-generation.txt"),
            CalibrationPrompts = 4,
            CalibrationTokens = 4,
        };

        // When the engine is made
        using var backend = GenerationBackends.Create(options);

        // Then torch and llama.cpp f32 were both measured, the choice is the fastest and says so
        var measured = EngineChoice.LastMeasurements;
        Assert.Equal([("torch", "float32"), ("llamasharp", "f32")], measured.Select(m => (m.Engine, m.Precision)));
        Assert.All(measured, m => Assert.True(m.TokensPerSecond > 0 && m.GeneratedPerSecond > 0));
        var best = measured.MaxBy(m => m.TokensPerSecond)!;
        Assert.StartsWith("auto: ", backend.Description, StringComparison.Ordinal);
        Assert.StartsWith("auto: " + best.Engine, backend.Description, StringComparison.Ordinal);

        // And the chosen engine generates for the run
        var outputs = await backend.GenerateAsync([new BackendRequest(0, "### Page\nls: list directory contents\n### Queries\n", 5)], CancellationToken.None);
        Assert.Single(outputs);
    }

    [Fact]
    public void Auto_leaves_out_an_engine_that_cannot_run_the_prompts_and_keeps_one_that_can()
    {
        // Given prompts longer than the tiny model's 256 positions: llama.cpp refuses them, torch does not
        var options = fixture.Options(_dir.File("run")) with { Backend = "auto", CalibrationPrompts = 2, CalibrationTokens = 2, MaxPromptTokens = 200 };

        using var backend = GenerationBackends.Create(options);

        Assert.Equal(["torch"], EngineChoice.LastMeasurements.Select(m => m.Engine));
        Assert.StartsWith("auto: torch", backend.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void The_llamasharp_engine_is_registered_and_refuses_an_unknown_gguf_type()
    {
        Assert.Contains("llamasharp", GenerationBackends.Names);
        var options = fixture.Options(_dir.File("run")) with { Backend = "llamasharp", Quant = "q3_x" };
        var e = Assert.Throws<Skim.Core.SkimConfigException>(() => GenerationBackends.Create(options));
        Assert.Contains("quant", e.Message, StringComparison.Ordinal);
    }
}
