using System.Globalization;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Generate.PostProcessing;
using Skim.Generate.Sharding;
using Skim.Models.Generation;

namespace Skim.Generate.Step1;

/// <summary>
/// What step-1 ("Generate") runs: the fine-tuned SLM writes synthetic queries (query-side) or
/// categories (label-side) for every item of a dataset, continuing the prompt step-0 fine-tuned it
/// on; the answers become <c>raw_rewrites.txt</c> and <c>start_indices.npy</c> for step-2.
/// </summary>
public sealed record Step1Options
{
    /// <summary>Gets the dataset folder (DEXML or XC layout). Required.</summary>
    public required string DatasetDirectory { get; init; }

    /// <summary>Gets the fine-tuned SLM: a merged Hugging Face checkpoint folder with its tokenizer (step-0's output). Required.</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>Gets the prompt template file step-0 fine-tuned with (e.g. prompts/query-generation.txt). Required.</summary>
    public required string TemplatePath { get; init; }

    /// <summary>Gets the output folder (artifacts/slm-generations/&lt;dataset&gt;/). Required.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Gets which items prompts are written for: query-side (one per label) or label-side (one per training document). Defaults to query-side.</summary>
    public MappingOrientation Orientation { get; init; } = MappingOrientation.QuerySide;

    /// <summary>
    /// Gets the template placeholders filled from an item field of another name (placeholder → field,
    /// e.g. <c>page_text → text</c>); placeholders not listed are filled from the field of their own name.
    /// Defaults to none.
    /// </summary>
    public IReadOnlyDictionary<string, string> Fields { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Gets the most known queries (or labels) a prompt lists per item. Defaults to 10.</summary>
    public int MaxKnownQueries { get; init; } = 10;

    /// <summary>Gets the most tokens each field value (the item's text above all) keeps in a prompt, counted with the SLM's tokenizer, as step-0 cut them. Defaults to 750.</summary>
    public int MaxPromptTokens { get; init; } = 750;

    /// <summary>Gets the engine: auto, torch, llamasharp or openai (see <see cref="Backends.GenerationBackends"/>). Defaults to auto.</summary>
    public string Backend { get; init; } = "auto";

    /// <summary>Gets the torch engine's weight dtype: float32 or bfloat16. Defaults to float32.</summary>
    public string DType { get; init; } = "float32";

    /// <summary>Gets the torch engine's device: auto, cpu, cuda or cuda:N. Defaults to auto.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Gets the number of prompts continued together (the torch engine halves it on out-of-memory). Defaults to 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Gets the most tokens generated per item. Defaults to 250.</summary>
    public int MaxNewTokens { get; init; } = 250;

    /// <summary>Gets the sampling temperature (0 = greedy). Defaults to 0.8.</summary>
    public double Temperature { get; init; } = 0.8;

    /// <summary>Gets the number of most likely tokens sampling keeps (0 = all). Defaults to 200.</summary>
    public int TopK { get; init; } = 200;

    /// <summary>Gets the nucleus mass sampling keeps (1 = off). Defaults to 1.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Gets the run's seed; item i samples with <see cref="Step1Seeds.ForItem"/>(seed, i), so texts do not depend on batching, order or sharding. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets texts that end a generation (cut from it). Defaults to none (the EOS token ends it).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Gets the CPU threads of the local engines (0 = their default). Defaults to 0.</summary>
    public int Threads { get; init; }

    /// <summary>Gets the GGUF type the llamasharp engine runs: f32, f16, q8_0, q4_0 or q4_k_m. Defaults to f32.</summary>
    public string Quant { get; init; } = "f32";

    /// <summary>
    /// Gets the quantised GGUF types <c>auto</c> may choose besides the float engines (e.g. q8_0, q4_0).
    /// Defaults to none: quantisation changes outputs, so it is opt-in.
    /// </summary>
    public IReadOnlyList<string> AllowQuant { get; init; } = [];

    /// <summary>Gets the prompts the <c>auto</c> calibration generates with each candidate engine. Defaults to 16.</summary>
    public int CalibrationPrompts { get; init; } = 16;

    /// <summary>Gets the new tokens per prompt in the <c>auto</c> calibration. Defaults to 32.</summary>
    public int CalibrationTokens { get; init; } = 32;

    /// <summary>Gets this job's shard as <c>K/N</c> (0-based shard K of N; see <see cref="ShardSpec"/>). Defaults to 0/1 (everything).</summary>
    public string Shard { get; init; } = "0/1";

    /// <summary>Gets the first item of the job (items before it are left out). Defaults to 0.</summary>
    public long Start { get; init; }

    /// <summary>Gets the item after the job's last, or null for the last item. Defaults to null.</summary>
    public long? End { get; init; }

    /// <summary>Gets the most queries kept per item (0 = all). Defaults to 0.</summary>
    public int MaxQueriesPerItem { get; init; }

    /// <summary>Gets the most characters a query may have. Defaults to 200.</summary>
    public int MaxQueryLength { get; init; } = 200;

    /// <summary>Gets the openai engine's server, e.g. <c>http://localhost:8000/v1</c> (the API key comes from the environment, OPENAI_API_KEY). Defaults to null.</summary>
    public string? Endpoint { get; init; }

    /// <summary>Gets the model name the openai engine asks the server for. Defaults to null (the server's only model).</summary>
    public string? ServedModel { get; init; }

    /// <summary>Gets how many requests the openai engine keeps in flight. Defaults to 8.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Parses <see cref="Shard"/>.</summary>
    /// <exception cref="SkimConfigException">It is not <c>K/N</c> with 0 &lt;= K &lt; N.</exception>
    public ShardSpec ParseShard() => ShardSpec.Parse(Shard, "shard");

    /// <summary>Gets the sampling settings of the local engines.</summary>
    public GenerationOptions Generation() => new()
    {
        MaxNewTokens = MaxNewTokens,
        Temperature = Temperature,
        TopK = TopK,
        TopP = TopP,
        Seed = Seed,
        StopStrings = StopStrings,
        BatchSize = BatchSize,
    };

    /// <summary>Gets the post-processing settings (headers come from the template).</summary>
    public QueryExtractionOptions Extraction(IReadOnlyList<string> headers) => new()
    {
        MaxQueriesPerItem = MaxQueriesPerItem,
        MaxQueryLength = MaxQueryLength,
        Headers = headers,
    };

    /// <summary>Throws a <see cref="SkimConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        Require(DatasetDirectory, "dataset");
        Require(ModelDirectory, "model");
        Require(TemplatePath, "template");
        Require(OutputDirectory, "out");
        ParseShard();
        Generation().Validate();
        Extraction([]).Validate();
        if (MaxPromptTokens < 1)
        {
            throw new SkimConfigException($"max_prompt_tokens: expected a positive number of tokens, found {MaxPromptTokens}");
        }
        if (MaxKnownQueries < 0)
        {
            throw new SkimConfigException($"max_known_queries: expected 0 or more, found {MaxKnownQueries}");
        }
        if (DType is not ("float32" or "bfloat16"))
        {
            throw new SkimConfigException($"dtype: expected float32 or bfloat16, found '{DType}'");
        }
        if (string.IsNullOrWhiteSpace(Backend))
        {
            throw new SkimConfigException("backend: expected auto, torch, llamasharp or openai, found an empty value");
        }
        if (Threads < 0)
        {
            throw new SkimConfigException($"threads: expected 0 (the engine's default) or a positive number, found {Threads}");
        }
        if (Start < 0)
        {
            throw new SkimConfigException($"start: expected an item index >= 0, found {Start}");
        }
        if (End is { } end && end <= Start)
        {
            throw new SkimConfigException(string.Create(CultureInfo.InvariantCulture, $"end: expected an item index after start ({Start}), found {end}"));
        }
        if (Concurrency < 1)
        {
            throw new SkimConfigException($"concurrency: expected a positive number of requests, found {Concurrency}");
        }
        foreach (var (placeholder, field) in Fields)
        {
            if (string.IsNullOrWhiteSpace(placeholder) || string.IsNullOrWhiteSpace(field))
            {
                throw new SkimConfigException($"fields: expected placeholder=field with both names, found '{placeholder}={field}'");
            }
        }
    }

    private static void Require(string value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new SkimConfigException($"{name}: expected a path, found an empty value");
        }
    }
}
