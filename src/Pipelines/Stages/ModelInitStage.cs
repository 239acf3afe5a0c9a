using System.Text;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Stages;
using Skim.Models.ModelFactory;

namespace Skim.Pipelines.Stages;

/// <summary>
/// Options of <see cref="ModelInitStage"/>: a randomly initialised model in Hugging Face format
/// (<c>skim model init</c>) whose tokenizer is trained on a dataset's texts and a few more files (the
/// prompt templates), so that a pipeline can start from nothing on a machine without downloads.
/// </summary>
public sealed record ModelInitStageOptions
{
    /// <summary>Gets the folder the model goes to. Required.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Gets the architecture: llama, qwen2, mistral, bert or distilbert. Defaults to llama.</summary>
    public string Architecture { get; init; } = "llama";

    /// <summary>Gets the size preset (tiny, small, or an HF size name). Defaults to small.</summary>
    public string Preset { get; init; } = "small";

    /// <summary>Gets the dataset whose point and label texts the tokenizer is trained on; null for none. Defaults to null.</summary>
    public string? DatasetDirectory { get; init; }

    /// <summary>Gets more text files the tokenizer is trained on (e.g. prompt templates). Defaults to none.</summary>
    public IReadOnlyList<string> CorpusFiles { get; init; } = [];

    /// <summary>Gets the vocabulary size trained. Defaults to 2000.</summary>
    public int VocabSize { get; init; } = 2000;

    /// <summary>Gets the seed of the weights. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the dtype the weights are stored in. Defaults to float32.</summary>
    public string DType { get; init; } = "float32";
}

/// <summary><c>skim model init</c> as a pipeline stage (kind <c>model-init</c>).</summary>
public sealed class ModelInitStage : Stage<ModelInitStageOptions>
{
    /// <inheritdoc/>
    public override string Kind => "model-init";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Inputs(ModelInitStageOptions options) =>
        [.. options.DatasetDirectory is { } dataset ? [dataset] : Array.Empty<string>(), .. options.CorpusFiles];

    /// <inheritdoc/>
    protected override string OutputDirectory(ModelInitStageOptions options) => options.OutputDirectory;

    /// <inheritdoc/>
    protected override void Validate(ModelInitStageOptions options)
    {
        if (options.DatasetDirectory is null && options.CorpusFiles.Count == 0)
        {
            throw new SkimConfigException("dataset_directory / corpus_files: the tokenizer needs texts to train on; give at least one");
        }
        InitOptions(options, "corpus.txt").Validate();
    }

    /// <inheritdoc/>
    protected override Task<JsonObject> RunAsync(ModelInitStageOptions options, IProgress<StageProgress>? progress, CancellationToken ct) =>
        Task.Run(() => Run(options, progress, ct), ct);

    private JsonObject Run(ModelInitStageOptions options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        var inputs = Inputs(options);
        var started = StageManifests.WriteStarted(Kind, options, options.Seed, inputs, options.OutputDirectory);
        progress?.Report(new StageProgress("tokenizer corpus", 0, 1, "models"));
        var corpus = Path.Combine(Path.GetTempPath(), $"skim-corpus-{Environment.ProcessId}-{Guid.NewGuid():N}.txt");
        try
        {
            var lines = 0L;
            using (var writer = new StreamWriter(corpus, false, new UTF8Encoding(false)))
            {
                if (options.DatasetDirectory is { } directory)
                {
                    var dataset = XcDataset.Open(directory);
                    foreach (var split in new[] { XcDataset.TrainSplit, XcDataset.LabelSplit })
                    {
                        foreach (var text in dataset.TextsFor(split))
                        {
                            writer.WriteLine(text.ReplaceLineEndings(" "));
                            lines++;
                        }
                    }
                }
                foreach (var file in options.CorpusFiles)
                {
                    foreach (var line in File.ReadLines(file))
                    {
                        writer.WriteLine(line);
                        lines++;
                    }
                }
            }
            progress?.Report(new StageProgress("model init", 0, 1, "models"));
            // The folder holds only this stage's manifest so far: replacing it is what Force is for.
            var result = ModelInitializer.Create(InitOptions(options, corpus) with { Force = true }, ct);
            var summary = new JsonObject
            {
                ["model_type"] = result.Info.ModelType,
                ["parameters"] = result.Info.ParameterCount,
                ["vocab_size"] = result.Info.VocabSize,
                ["corpus_lines"] = lines,
            };
            StageManifests.WriteComplete(Kind, options, options.Seed, inputs, options.OutputDirectory, [options.OutputDirectory], summary, started);
            return summary;
        }
        finally
        {
            File.Delete(corpus);
        }
    }

    private static ModelInitOptions InitOptions(ModelInitStageOptions options, string corpus) => new()
    {
        Architecture = options.Architecture,
        Preset = options.Preset,
        Tokenizer = ModelInitOptions.TrainPrefix + corpus,
        OutputDirectory = options.OutputDirectory,
        VocabSize = options.VocabSize,
        Seed = options.Seed,
        DType = options.DType,
    };
}
