using Skim.Core.Stages;

namespace Skim.Pipelines.Definition;

/// <summary>A pipeline file, parsed: its stages in file order with typed options.</summary>
/// <param name="Path">The YAML file.</param>
/// <param name="Name">The pipeline's name (the file name without extension when the file has none).</param>
/// <param name="Variables">The variables after <c>--set</c> overrides.</param>
/// <param name="ReportPath">Where <c>report.md</c> goes (null: no report).</param>
/// <param name="Stages">The stages, in file order.</param>
public sealed record PipelineDefinition(
    string Path,
    string Name,
    IReadOnlyDictionary<string, string> Variables,
    string? ReportPath,
    IReadOnlyList<PipelineStage> Stages);

/// <summary>One stage of a pipeline.</summary>
/// <param name="Name">The stage's name in the file (unique).</param>
/// <param name="Stage">The stage implementation its kind names.</param>
/// <param name="Options">The options record, filled from the stage's keys.</param>
/// <param name="Line">The line of the stage in the file (1-based), for messages.</param>
/// <param name="Provided">Whether the stage's output folder holds provided artifacts: the stage never runs, and later stages read the folder as it is.</param>
public sealed record PipelineStage(string Name, IStage Stage, object Options, int Line, bool Provided)
{
    /// <summary>Gets the stage kind.</summary>
    public string Kind => Stage.Kind;

    /// <summary>Gets the output folder, absolute.</summary>
    public string OutputDirectory => System.IO.Path.GetFullPath(Stage.OutputDirectory(Options));

    /// <summary>Gets the inputs, absolute.</summary>
    public IReadOnlyList<string> Inputs => [.. Stage.Inputs(Options).Select(System.IO.Path.GetFullPath)];
}
