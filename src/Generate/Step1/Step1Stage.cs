using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Core;
using Skim.Core.Datasets;
using Skim.Core.Stages;
using Skim.Distill.Items;
using Skim.Distill.Prompts;
using Skim.Generate.Backends;
using Skim.Generate.PostProcessing;
using Skim.Generate.Sharding;
using Skim.Models.Tokenization;

namespace Skim.Generate.Step1;

/// <summary>
/// Step-1, "Generate": renders the prompt of every item of the job (or of its shard), feeds them to
/// an engine longest first in batches, appends each finished batch durably to the shard's
/// <c>generations.jsonl</c> (a killed run resumes from there without generating an item twice), and
/// at the end of a single-shard run post-processes the texts into <c>raw_rewrites.txt</c> and
/// <c>start_indices.npy</c> (see <see cref="Step1Outputs"/>). Shards of several are joined by <see cref="Step1Merge"/>.
/// </summary>
public sealed class Step1Stage : Stage<Step1Options>
{
    /// <summary>The stage kind.</summary>
    public const string StageKind = "step-1";

    private readonly Func<Step1Options, IGenerationBackend> _backendFactory;

    /// <summary>Creates the stage with the engines of <see cref="GenerationBackends"/>.</summary>
    public Step1Stage()
        : this(GenerationBackends.Create)
    {
    }

    /// <summary>Creates the stage with its own engine factory (tests, or a caller that has already chosen and loaded an engine).</summary>
    public Step1Stage(Func<Step1Options, IGenerationBackend> backendFactory)
    {
        ArgumentNullException.ThrowIfNull(backendFactory);
        _backendFactory = backendFactory;
    }

    /// <inheritdoc/>
    public override string Kind => StageKind;

    /// <summary>Gets the files and folders step-1 reads.</summary>
    public static IReadOnlyList<string> InputsOf(Step1Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return [options.DatasetDirectory, options.ModelDirectory, options.TemplatePath];
    }

    /// <summary>Loads the dataset's items in <paramref name="options"/>' orientation.</summary>
    public static IReadOnlyList<PromptItem> LoadItems(Step1Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dataset = XcDataset.Open(options.DatasetDirectory);
        return PromptItems.FromDataset(dataset, options.Orientation, new PromptItemsOptions { MaxKnownQueries = options.MaxKnownQueries });
    }

    /// <summary>Gets the post-processing settings of <paramref name="options"/>, with the template's section headers.</summary>
    public static QueryExtractionOptions ExtractionOf(Step1Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Extraction(QueryExtractor.HeadersOf(File.ReadAllText(options.TemplatePath)));
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Inputs(Step1Options options) => InputsOf(options);

    /// <inheritdoc/>
    protected override string OutputDirectory(Step1Options options) => Step1Layout.RunDirectory(options);

    /// <inheritdoc/>
    protected override void Validate(Step1Options options) => options.Validate();

    /// <inheritdoc/>
    protected override async Task<JsonObject> RunAsync(Step1Options options, IProgress<StageProgress>? progress, CancellationToken ct)
    {
        options.Validate();
        var shard = options.ParseShard();
        // Cheap checks first: a template/field mismatch or a model without tokenizer fails before the dataset loads.
        var template = PromptTemplate.Load(options.TemplatePath);
        PromptBuilder.ResolveFields(template, options.Fields);
        var tokenizer = TokenizerLoader.Load(options.ModelDirectory);
        // Step-0's SFT instructions are rendered by the same builder: the SLM continues what it was trained on.
        var prompts = new PromptBuilder(template, options.Fields, options.MaxPromptTokens, tokenizer);
        var items = LoadItems(options);
        var range = Step1Layout.ShardItems(options, items.Count);

        var directory = Step1Layout.RunDirectory(options);
        var started = StageManifests.WriteStarted(Kind, options, options.Seed, InputsOf(options), directory);
        var (state, records) = ShardStateFile.Open(Step1Layout.StateFile(options));
        var generated = new GenerationTally();
        using (state)
        {
            var done = new HashSet<long>(records.Count);
            foreach (var record in records)
            {
                if (!range.Contains(record.Item) || !done.Add(record.Item))
                {
                    throw new SkimDataException(state.Path, null, $"holds item {record.Item} {(range.Contains(record.Item) ? "twice" : "outside this shard's items " + range.Start + ".." + (range.End - 1))}; it belongs to another run, delete it or choose another output folder");
                }
            }
            var lengths = PromptLengths(items, range, prompts, tokenizer, ct);
            var order = PromptOrdering.LongestFirst(lengths).Select(i => range.Start + i).Where(item => !done.Contains(item)).ToList();
            progress?.Report(new StageProgress("generate", done.Count, range.Length, "items"));
            if (order.Count > 0)
            {
                using var backend = _backendFactory(options);
                var clock = Stopwatch.StartNew();
                foreach (var batch in order.Chunk(options.BatchSize))
                {
                    ct.ThrowIfCancellationRequested();
                    var requests = batch.Select(item => new BackendRequest(item, prompts.Render(items[(int)item]), Step1Seeds.ForItem(options.Seed, item))).ToList();
                    var outputs = await backend.GenerateAsync(requests, ct).ConfigureAwait(false);
                    var fresh = outputs.Select(o => new Step1Record
                    {
                        Item = o.Item,
                        Uid = items[(int)o.Item].Uid,
                        Text = o.Text,
                        PromptTokens = o.PromptTokens,
                        GeneratedTokens = o.GeneratedTokens,
                        FinishReason = o.FinishReason,
                        Shard = shard.ToString(),
                        Backend = backend.Description,
                    }).ToList();
                    await state.AppendAsync(fresh, ct).ConfigureAwait(false);
                    records.AddRange(fresh);
                    generated.Add(fresh, clock.Elapsed);
                    progress?.Report(new StageProgress("generate", records.Count, range.Length, "items", generated.Rates()));
                }
            }
        }

        JsonObject summary;
        if (shard.Count == 1)
        {
            summary = await Step1Outputs.WriteAsync(directory, records, range, items, ExtractionOf(options), ct).ConfigureAwait(false);
        }
        else
        {
            Coverage.Check(records, range, state.Path);
            summary = new JsonObject
            {
                ["items"] = records.Count,
                ["prompt_tokens"] = records.Sum(r => (long)r.PromptTokens),
                ["generated_tokens"] = records.Sum(r => (long)r.GeneratedTokens),
            };
        }
        summary["shard"] = shard.ToString();
        summary["first_item"] = range.Start;
        summary["items_generated_now"] = generated.Items;
        summary["items_resumed"] = records.Count - generated.Items;
        summary["prompt_tokens_per_second"] = Math.Round(generated.PromptRate, 1);
        summary["generated_tokens_per_second"] = Math.Round(generated.GeneratedRate, 1);
        summary["item_seed"] = Step1Seeds.Rule;
        var written = shard.Count == 1
            ? Step1Outputs.Files.Select(f => Path.Combine(directory, f)).Append(Step1Layout.StateFile(options))
            : [Step1Layout.StateFile(options)];
        StageManifests.WriteComplete(Kind, options, options.Seed, InputsOf(options), directory, written, summary, started);
        return summary;
    }

    // Token lengths of the shard's prompts (special tokens included), in item order, for longest-first batching.
    private static int[] PromptLengths(IReadOnlyList<PromptItem> items, ShardRange range, PromptBuilder prompts, ITextTokenizer tokenizer, CancellationToken ct)
    {
        var lengths = new int[range.Length];
        Parallel.For(0, lengths.Length, new ParallelOptions { CancellationToken = ct }, i =>
            lengths[i] = tokenizer.Encode(prompts.Render(items[(int)(range.Start + i)]), addSpecialTokens: true).Length);
        return lengths;
    }

    // Tokens and items generated by this run (not those found done), for rates.
    private sealed class GenerationTally
    {
        private TimeSpan _elapsed;

        public long Items { get; private set; }

        public long PromptTokens { get; private set; }

        public long GeneratedTokens { get; private set; }

        public double PromptRate => PromptTokens / Math.Max(_elapsed.TotalSeconds, 1e-9);

        public double GeneratedRate => GeneratedTokens / Math.Max(_elapsed.TotalSeconds, 1e-9);

        public void Add(List<Step1Record> records, TimeSpan elapsed)
        {
            Items += records.Count;
            PromptTokens += records.Sum(r => (long)r.PromptTokens);
            GeneratedTokens += records.Sum(r => (long)r.GeneratedTokens);
            _elapsed = elapsed;
        }

        public string Rates() => string.Create(CultureInfo.InvariantCulture, $"prompt {PromptRate:F0} tok/s, generated {GeneratedRate:F0} tok/s");
    }
}
