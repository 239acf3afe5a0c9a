using Skim.Core.Datasets;
using Skim.Generate.Step1;
using Skim.Models.ModelFactory;

namespace Skim.Generate.Tests.Step1;

/// <summary>
/// One tiny Llama for the step-1 tests (random weights, a tokenizer trained on the demo dataset's
/// texts), made once per test class: the demo dataset, the repository's query template, and options
/// for a short run over its first items.
/// </summary>
public sealed class Step1Fixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public Step1Fixture()
    {
        DatasetDirectory = Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo");
        TemplatePath = Path.Combine(PythonReference.RepositoryRoot, "prompts", "query-generation.txt");
        var corpus = _dir.File("corpus.txt");
        var dataset = XcDataset.Open(DatasetDirectory);
        File.WriteAllLines(corpus, dataset.RecordsFor(XcDataset.LabelSplit).Take(300).Select(r => r.Text.ReplaceLineEndings(" "))
            .Concat(dataset.RecordsFor(XcDataset.TrainSplit).Take(300).Select(r => r.Title.ReplaceLineEndings(" ")))
            .Append(File.ReadAllText(TemplatePath).ReplaceLineEndings(" ")));
        ModelDirectory = _dir.File("model");
        ModelInitializer.Create(new ModelInitOptions
        {
            Architecture = "llama",
            Preset = "tiny",
            Tokenizer = ModelInitOptions.TrainPrefix + corpus,
            OutputDirectory = ModelDirectory,
            VocabSize = 400,
            Seed = 3,
        });
    }

    public string DatasetDirectory { get; }

    public string TemplatePath { get; }

    public string ModelDirectory { get; }

    /// <summary>Options for the first <paramref name="items"/> items: short prompts and generations, sampling, on the CPU.</summary>
    public Step1Options Options(string output, int items = 12, int batchSize = 8) => new()
    {
        DatasetDirectory = DatasetDirectory,
        ModelDirectory = ModelDirectory,
        TemplatePath = TemplatePath,
        OutputDirectory = output,
        Backend = "torch",
        Device = "cpu",
        End = items,
        BatchSize = batchSize,
        MaxPromptTokens = 24,
        MaxKnownQueries = 2,
        MaxNewTokens = 12,
        Seed = 17,
    };

    public void Dispose() => _dir.Dispose();
}
