using System.Text.Json.Nodes;
using Skim.Core.Stages;

namespace Skim.Distill.FineTuning;

/// <summary>
/// Step-0's fine-tuning as a stage: the SLM fine-tuned on the SFT pairs, written as a merged
/// Hugging Face checkpoint (what step-1 generates with), a PEFT adapter, train_log.csv and
/// manifest.json. A folder holding a checkpoint of the same options is resumed at its step.
/// </summary>
public sealed class FineTuneStage : Stage<FineTuneOptions>
{
    /// <inheritdoc/>
    public override string Kind => FineTuner.Kind;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Inputs(FineTuneOptions options) => FineTuner.Inputs(options);

    /// <inheritdoc/>
    protected override string OutputDirectory(FineTuneOptions options) => options.OutputDirectory;

    /// <inheritdoc/>
    protected override void Validate(FineTuneOptions options) => options.Validate();

    /// <inheritdoc/>
    protected override async Task<JsonObject> RunAsync(FineTuneOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var result = await FineTuner.RunAsync(options, progress, ct).ConfigureAwait(false);
        return result.Summary();
    }
}
