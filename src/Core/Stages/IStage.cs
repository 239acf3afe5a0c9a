using System.Text.Json.Nodes;

namespace Skim.Core.Stages;

/// <summary>
/// A workflow stage the pipeline runner and <c>skim run</c> drive the same way: an options record
/// (the YAML keys of a pipeline stage map one-to-one onto its properties), the files it reads, the
/// folder it writes, and a run that writes that folder's <c>manifest.json</c> and returns a summary.
/// </summary>
/// <remarks>
/// A stage owns its resume: run again on a folder whose manifest is incomplete, it continues from
/// its last durable unit. Whether to run at all is the runner's decision (see
/// <see cref="StageFreshness"/>): a complete manifest with the same options and input hashes means
/// the stage is skipped.
/// </remarks>
public interface IStage
{
    /// <summary>Gets the stage kind as pipelines name it (e.g. "step-0", "train").</summary>
    string Kind { get; }

    /// <summary>Gets the options record type.</summary>
    Type OptionsType { get; }

    /// <summary>Gets the files and folders <paramref name="options"/> make the stage read (absolute or relative to the working directory).</summary>
    IReadOnlyList<string> Inputs(object options);

    /// <summary>Gets the folder the stage writes (holding its manifest).</summary>
    string OutputDirectory(object options);

    /// <summary>Checks <paramref name="options"/> and throws a <see cref="SkimException"/> naming the bad one.</summary>
    void Validate(object options);

    /// <summary>Runs the stage (or resumes it) and returns the numbers worth reporting.</summary>
    Task<JsonObject> RunAsync(object options, IProgress<StageProgress>? progress, CancellationToken ct);

    /// <summary>
    /// Gets the files (relative to the output folder) a re-run keeps when it clears the folder: work
    /// that stays valid whatever the options, such as paid teacher answers keyed by their request.
    /// </summary>
    IReadOnlyList<string> KeptOnRerun => [];
}

/// <summary>Typed base for <see cref="IStage"/> implementations.</summary>
/// <typeparam name="TOptions">The options record.</typeparam>
public abstract class Stage<TOptions> : IStage
    where TOptions : class
{
    /// <inheritdoc/>
    public abstract string Kind { get; }

    /// <inheritdoc/>
    public Type OptionsType => typeof(TOptions);

    /// <summary>Gets the inputs of typed options.</summary>
    protected abstract IReadOnlyList<string> Inputs(TOptions options);

    /// <summary>Gets the output folder of typed options.</summary>
    protected abstract string OutputDirectory(TOptions options);

    /// <summary>Validates typed options.</summary>
    protected abstract void Validate(TOptions options);

    /// <summary>Runs with typed options.</summary>
    protected abstract Task<JsonObject> RunAsync(TOptions options, IProgress<StageProgress>? progress, CancellationToken ct);

    /// <inheritdoc cref="IStage.KeptOnRerun"/>
    public virtual IReadOnlyList<string> KeptOnRerun => [];

    IReadOnlyList<string> IStage.Inputs(object options) => Inputs(Cast(options));

    string IStage.OutputDirectory(object options) => OutputDirectory(Cast(options));

    void IStage.Validate(object options) => Validate(Cast(options));

    Task<JsonObject> IStage.RunAsync(object options, IProgress<StageProgress>? progress, CancellationToken ct) =>
        RunAsync(Cast(options), progress, ct);

    private TOptions Cast(object options) =>
        options as TOptions ?? throw new ArgumentException($"stage {Kind} takes {typeof(TOptions).Name}, not {options?.GetType().Name ?? "null"}", nameof(options));
}
