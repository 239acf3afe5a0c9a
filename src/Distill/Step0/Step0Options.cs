using System.Text.Json.Serialization;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Distill.Items;
using Skim.Distill.Prompts;
using Skim.Distill.Responses;
using Skim.Distill.Teachers;
using Skim.Distill.Teachers.Batch;

namespace Skim.Distill.Step0;

/// <summary>
/// Options of step-0's teacher side (<see cref="Step0Stage"/>): which items, which prompt, which
/// teacher, how hard to push it, and where the responses and SFT data go. Pipeline YAML keys are
/// the snake_case names of these properties. No secret is ever an option: the API key is read
/// from the environment variable <see cref="ApiKeyVariable"/> names.
/// </summary>
public sealed record Step0Options
{
    /// <summary>Mode: requests sent one by one as they are answered.</summary>
    public const string Live = "live";

    /// <summary>Mode: requests sent through the Batch API (upload, submit, poll, download, import).</summary>
    public const string Batch = "batch";

    /// <summary>Gets the dataset folder (XC or DEXML layout). Required.</summary>
    public required string DatasetDirectory { get; init; }

    /// <summary>Gets the prompt template file (e.g. prompts/query-generation.txt). Required.</summary>
    public required string TemplatePath { get; init; }

    /// <summary>Gets the output folder (prompts.jsonl, responses.jsonl, sft/, manifest.json). Required.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Gets the orientation: query-side (an item per label) or label-side (an item per train document). Defaults to query-side.</summary>
    public MappingOrientation Orientation { get; init; } = MappingOrientation.QuerySide;

    /// <summary>Gets placeholder → item field (uid, title, content, text, url, known_queries); unmapped placeholders use the field of their own name. Defaults to null (identity).</summary>
    public IReadOnlyDictionary<string, string>? Fields { get; init; }

    /// <summary>Gets the most known queries (or labels) listed per item. Defaults to 10.</summary>
    public int MaxKnownQueries { get; init; } = 10;

    /// <summary>Gets the teacher: azure, openai, compatible or local-extractive. Required.</summary>
    public required string Teacher { get; init; }

    /// <summary>Gets the endpoint (Azure resource URL, OpenAI-compatible base URL ending in /v1, or null for OpenAI). Defaults to null.</summary>
    public string? Endpoint { get; init; }

    /// <summary>Gets the model name (azure: defaults to the deployment). Defaults to null.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the Azure deployment. Defaults to null.</summary>
    public string? Deployment { get; init; }

    /// <summary>Gets the Azure API version. Defaults to 2024-10-21.</summary>
    public string ApiVersion { get; init; } = "2024-10-21";

    /// <summary>Gets the environment variable holding the API key. Defaults to null: OPENAI_API_KEY (openai), AZURE_OPENAI_API_KEY (azure), none (compatible).</summary>
    public string? ApiKeyVariable { get; init; }

    /// <summary>Gets the most tokens per completion. Defaults to 200.</summary>
    public int MaxTokens { get; init; } = 200;

    /// <summary>Gets the sampling temperature. Defaults to 0.8.</summary>
    public double Temperature { get; init; } = 0.8;

    /// <summary>Gets the stop sequences. Defaults to none.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Gets the completions per prompt. Defaults to 1.</summary>
    public int N { get; init; } = 1;

    /// <summary>Gets the system message, or null for none. Defaults to null.</summary>
    public string? SystemMessage { get; init; }

    /// <summary>Gets how requests are sent: live (one by one, with the limits below) or batch (the Batch API of OpenAI, Azure OpenAI or a compatible server: cheaper, answered within 24 h). Defaults to live.</summary>
    public string Mode { get; init; } = Live;

    /// <summary>Gets the seconds between two status reads of a batch (batch mode). Defaults to 30.</summary>
    public double PollIntervalSeconds { get; init; } = 30;

    /// <summary>Gets the hours a batch-mode run waits for its batches before it stops; they keep running on the server and the next run resumes polling. Defaults to 25.</summary>
    public double BatchMaxWaitHours { get; init; } = 25;

    /// <summary>Gets the most requests per batch file; more are split into several batches (batch mode). Defaults to 50,000 (the API's limit).</summary>
    public int BatchMaxRequests { get; init; } = BatchOptions.ApiMaxRequests;

    /// <summary>Gets the most bytes per batch file (batch mode). Defaults to 200,000,000 (the API's 200 MB).</summary>
    public long BatchMaxBytes { get; init; } = BatchOptions.ApiMaxBytes;

    /// <summary>Gets the most requests in flight. Defaults to 8.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Gets the most requests per minute (0: no limit). Defaults to 0.</summary>
    public int RequestsPerMinute { get; init; }

    /// <summary>Gets the most tokens per minute (0: no limit). Defaults to 0.</summary>
    public int TokensPerMinute { get; init; }

    /// <summary>Gets the per-attempt timeout in seconds. Defaults to 60.</summary>
    public double TimeoutSeconds { get; init; } = 60;

    /// <summary>Gets the retries on 429, 5xx, timeouts and dropped connections. Defaults to 6.</summary>
    public int MaxRetries { get; init; } = 6;

    /// <summary>Gets the base delay of the exponential backoff in seconds. Defaults to 1.</summary>
    public double RetryDelaySeconds { get; init; } = 1;

    /// <summary>Gets the number of items to sample (null: <see cref="Fraction"/>, or every item). Defaults to null.</summary>
    public int? Items { get; init; }

    /// <summary>Gets the share of items to sample, in (0, 1]. Defaults to null.</summary>
    public double? Fraction { get; init; }

    /// <summary>Gets whether the sample is spread evenly over label-frequency deciles. Defaults to false.</summary>
    public bool Stratified { get; init; }

    /// <summary>Gets the seed of the sample and the train/validation split. Defaults to 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the SLM's tokenizer folder, to cut item text by tokens (null: by characters). Defaults to null.</summary>
    public string? TokenizerDirectory { get; init; }

    /// <summary>Gets the most tokens each field value keeps in a prompt. Defaults to 750.</summary>
    public int MaxPromptTokens { get; init; } = 750;

    /// <summary>Gets the share of SFT records held out for validation. Defaults to 0.05.</summary>
    public double ValidationFraction { get; init; } = 0.05;

    /// <summary>Gets the token prices for the cost estimate. Defaults to 0 and 0.</summary>
    public TokenPrices Prices { get; init; } = new();

    /// <summary>Gets a folder of SKIM's provided responses (responses_START_to_END.json) to import as answered requests. Defaults to null.</summary>
    public string? ImportDirectory { get; init; }

    /// <summary>Gets the teacher client's options.</summary>
    [JsonIgnore]
    public TeacherClientOptions TeacherOptions => new()
    {
        Kind = Teacher,
        Endpoint = Endpoint,
        Model = Model,
        Deployment = Deployment,
        ApiVersion = ApiVersion,
        ApiKeyVariable = ApiKeyVariable,
        Concurrency = Concurrency,
        RequestsPerMinute = RequestsPerMinute,
        TokensPerMinute = TokensPerMinute,
        TimeoutSeconds = TimeoutSeconds,
        MaxRetries = MaxRetries,
        RetryDelaySeconds = RetryDelaySeconds,
    };

    /// <summary>Gets the Batch API options (batch mode).</summary>
    [JsonIgnore]
    public BatchOptions BatchOptions => new() { PollIntervalSeconds = PollIntervalSeconds, MaxWaitHours = BatchMaxWaitHours, MaxRequests = BatchMaxRequests, MaxBytes = BatchMaxBytes };

    /// <summary>Gets the sampling settings sent with every request.</summary>
    [JsonIgnore]
    public TeacherSettings Settings => new() { MaxTokens = MaxTokens, Temperature = Temperature, Stop = Stop, N = N, SystemMessage = SystemMessage };

    /// <summary>Gets the item sampling options.</summary>
    [JsonIgnore]
    public ItemSampleOptions Sample => new() { Items = Items, Fraction = Fraction, Stratified = Stratified, Seed = Seed };

    /// <summary>
    /// Throws a <see cref="SkimConfigException"/> naming the first invalid option: values, the
    /// dataset and template (present, placeholders mapped to fields), the teacher (and that its key
    /// variable is set). Nothing is written before this passes.
    /// </summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new SkimConfigException("output_directory: expected a folder");
        }
        if (string.IsNullOrWhiteSpace(DatasetDirectory) || !Directory.Exists(DatasetDirectory))
        {
            throw new SkimConfigException($"dataset_directory: folder not found: '{DatasetDirectory}'");
        }
        if (Mode is not (Live or Batch))
        {
            throw new SkimConfigException($"mode: expected live or batch, found '{Mode}'");
        }
        if (Mode == Batch)
        {
            if (Teacher == TeacherClientOptions.LocalExtractive)
            {
                throw new SkimConfigException("mode: batch needs a teacher with a Batch API (azure, openai or compatible), not local-extractive");
            }
            BatchOptions.Validate();
        }
        if (Items is { } items && items < 1)
        {
            throw new SkimConfigException($"items: expected at least 1 item, found {items}");
        }
        if (Items is not null && Fraction is not null)
        {
            throw new SkimConfigException($"items / fraction: give one, not both (items {Items}, fraction {Fraction})");
        }
        if (Fraction is { } fraction && !(fraction > 0 && fraction <= 1))
        {
            throw new SkimConfigException($"fraction: expected a share in (0, 1], found {fraction}");
        }
        if (MaxTokens < 1)
        {
            throw new SkimConfigException($"max_tokens: expected at least 1, found {MaxTokens}");
        }
        if (!(Temperature >= 0 && Temperature <= 2))
        {
            throw new SkimConfigException($"temperature: expected a value in [0, 2], found {Temperature}");
        }
        if (N < 1)
        {
            throw new SkimConfigException($"n: expected at least 1 completion per prompt, found {N}");
        }
        if (Stop.Count > 4 || Stop.Any(string.IsNullOrEmpty))
        {
            throw new SkimConfigException($"stop: expected at most 4 non-empty stop sequences, found {Stop.Count}");
        }
        if (MaxPromptTokens < 1)
        {
            throw new SkimConfigException($"max_prompt_tokens: expected at least 1, found {MaxPromptTokens}");
        }
        if (MaxKnownQueries < 0)
        {
            throw new SkimConfigException($"max_known_queries: expected 0 or more, found {MaxKnownQueries}");
        }
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
        {
            throw new SkimConfigException($"validation_fraction: expected a share in [0, 1), found {ValidationFraction}");
        }
        if (!(Prices.InputPer1K >= 0) || !(Prices.OutputPer1K >= 0))
        {
            throw new SkimConfigException($"prices: expected prices of 0 or more, found {Prices.InputPer1K} / {Prices.OutputPer1K}");
        }
        if (TokenizerDirectory is not null && !Directory.Exists(TokenizerDirectory))
        {
            throw new SkimConfigException($"tokenizer_directory: folder not found: '{TokenizerDirectory}'");
        }
        if (ImportDirectory is not null && !Directory.Exists(ImportDirectory))
        {
            throw new SkimConfigException($"import_directory: folder not found: '{ImportDirectory}'");
        }
        // Loads and parses the template (missing file, bad braces) and maps its placeholders.
        PromptBuilder.ResolveFields(PromptTemplate.Load(TemplatePath), Fields);
        TeacherOptions.Validate();
    }
}
