using Skim.Core.Stages;
using Skim.Distill.FineTuning;
using Skim.Distill.Step0;
using Skim.Generate.Step1;
using Skim.MapQueries.Step2;
using Skim.Pipelines.Stages;
using Skim.XcTrain.Comparison;

namespace Skim.Pipelines;

/// <summary>The stage kinds a pipeline file may name, each with its implementation.</summary>
public sealed class StageCatalog
{
    private readonly Dictionary<string, IStage> _stages;

    /// <summary>Creates a catalog of <paramref name="stages"/>.</summary>
    public StageCatalog(IEnumerable<IStage> stages) =>
        _stages = stages.ToDictionary(s => s.Kind, StringComparer.Ordinal);

    /// <summary>Gets every stage of the SKIM workflow and of XC training.</summary>
    public static StageCatalog Default { get; } = new(
    [
        // In workflow order (the order `--help` and messages list them in).
        new ModelInitStage(),
        new Step0Stage(),
        new FineTuneStage(),
        new Step1Stage(),
        new Step2Stage(),
        new TrainStage(),
        new ClassifierStage(),
        new EvaluateStage(),
        new CompareStage(),
    ]);

    /// <summary>Gets the kinds, in workflow order.</summary>
    public IEnumerable<string> Kinds => _stages.Keys;

    /// <summary>Gets the stage of <paramref name="kind"/>, or null.</summary>
    public IStage? Find(string kind) => _stages.GetValueOrDefault(kind);
}
