using System.Diagnostics;
using System.Runtime.CompilerServices;
using Skim.Models.Llama;
using Skim.Models.Tokenization;
using static TorchSharp.torch;

namespace Skim.Models.Generation;

/// <summary>
/// Batched generation with a KV cache: prompts are left-padded into one batch and the prompt is run
/// once. A step then samples one token per batch row, records it and decides whether the row
/// finishes (EOS, stop string, length), makes the tokens the next input with one more mask column,
/// and drops finished rows from the batch and the cache once they are a quarter of it; generation
/// ends when all rows are done. Each step runs in its own dispose scope, so memory stays flat however
/// long generation runs.
/// </summary>
public sealed class LlamaGenerator
{

    private readonly LlamaForCausalLM _model;
    private readonly ITextTokenizer? _tokenizer;

    /// <summary>Creates a generator over <paramref name="model"/>; <paramref name="tokenizer"/> is needed for text prompts, decoded texts and stop strings.</summary>
    public LlamaGenerator(LlamaForCausalLM model, ITextTokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _tokenizer = tokenizer;
    }

    /// <summary>
    /// Tokenizes <paramref name="prompts"/> (with the tokenizer's prefix special tokens, e.g. BOS) and
    /// yields each batch's results as soon as the batch is done, in input order.
    /// </summary>
    public IAsyncEnumerable<IReadOnlyList<GeneratedSequence>> GenerateAsync(IEnumerable<string> prompts, GenerationOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var tokenizer = _tokenizer ?? throw new InvalidOperationException("text prompts need a tokenizer; pass one to the LlamaGenerator constructor or give token ids");
        return GenerateIdsAsync(prompts.Select(p => (IReadOnlyList<int>)tokenizer.Encode(p, addSpecialTokens: true)), options, ct);
    }

    /// <summary>Generates for token-id prompts, yielding each batch's results (in input order) as soon as the batch is done.</summary>
    public async IAsyncEnumerable<IReadOnlyList<GeneratedSequence>> GenerateIdsAsync(
        IEnumerable<IReadOnlyList<int>> prompts,
        GenerationOptions options,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // One sampler for the whole run: the seed fixes every batch's draws given the same inputs.
        using var sampler = new TokenSampler(options, DeviceOf());
        var index = 0;
        foreach (var batch in prompts.Chunk(options.BatchSize))
        {
            ct.ThrowIfCancellationRequested();
            var first = index;
            var result = await Task.Run(() => Generate(batch, options, (logits, _, _) => sampler.Sample(logits), first, ct), ct).ConfigureAwait(false);
            index += batch.Length;
            yield return result;
        }
    }

    /// <summary>Generates for one batch of token-id prompts with a fresh sampler seeded from <paramref name="options"/>.</summary>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        using var sampler = new TokenSampler(options, DeviceOf());
        return Generate(prompts, options, (logits, _, _) => sampler.Sample(logits), 0, ct);
    }

    /// <summary>
    /// Generates for one batch of token-id prompts where prompt i samples with its own seed
    /// <paramref name="seeds"/>[i] (<see cref="GenerationOptions.Seed"/> is not used): a prompt's
    /// continuation is the same whichever prompts share its batch and whatever the batch size.
    /// </summary>
    /// <exception cref="ArgumentException">The number of seeds differs from the number of prompts.</exception>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<long> seeds, GenerationOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(options);
        if (seeds.Count != prompts.Count)
        {
            throw new ArgumentException($"expected one seed per prompt ({prompts.Count}), found {seeds.Count}", nameof(seeds));
        }
        options.Validate();
        var sampler = new PerItemSampler(options);
        return Generate(
            prompts,
            options,
            (logits, rowIndices, rows) => sampler.Sample(logits, [.. rowIndices.Select(r => seeds[r])], [.. rowIndices.Select(r => rows[r].Tokens.Count)]),
            0,
            ct);
    }

    // choose: logits (B, V), the row each batch position holds, and the rows, to the chosen ids (B).
    private IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, Func<Tensor, IReadOnlyList<int>, Row[], Tensor> choose, int firstIndex, CancellationToken ct)
    {
        if (prompts.Count == 0)
        {
            return [];
        }
        if (prompts.Any(p => p.Count == 0))
        {
            throw new ArgumentException("every prompt needs at least one token id (add BOS for an empty text)", nameof(prompts));
        }
        if (options.StopStrings.Count > 0 && _tokenizer is null)
        {
            throw new InvalidOperationException("stop strings need a tokenizer to decode the generated text");
        }
        var config = _model.Config;
        var pad = options.PadTokenId ?? config.PadTokenId ?? (config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : 0);
        var rules = new FinishRules(
            (options.EosTokenIds ?? config.EosTokenIds).ToHashSet(),
            options.StopStrings.Count > 0 ? new StopStringMatcher(_tokenizer!, options.StopStrings) : null,
            options.MaxNewTokens);
        var rows = prompts.Select((p, i) => new Row(firstIndex + i, p.Count)).ToArray();

        var wasTraining = _model.training;
        _model.eval();
        try
        {
            using var noGrad = no_grad();
            using var batch = new DecodingBatch(prompts, pad, DeviceOf());
            using var cache = _model.CreateCache(batch.PromptWidth + options.MaxNewTokens);
            // No step counter: every step gives each unfinished row a token and RecordChosenTokens
            // finishes a row at MaxNewTokens, so all rows finish within MaxNewTokens steps.
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var chosen = cache.Length == 0 && options.Prefill == PrefillMode.PerRow && batch.RowIndices.Count > 1
                    ? PrefillRowByRow(prompts, batch, cache, logits => choose(logits, batch.RowIndices, rows))
                    : SampleNextTokens(batch, cache, logits => choose(logits, batch.RowIndices, rows)); // (B)
                if (RecordChosenTokens(rows, batch.RowIndices, chosen, rules) == 0)
                {
                    break;
                }
                batch.Append(chosen);
                DropFinishedRowsInBulk(batch, rows, cache);
            }
        }
        finally
        {
            _model.train(wasTraining);
        }
        return [.. rows.Select(r => new GeneratedSequence(
            r.Index, r.PromptTokens, r.Tokens, r.Text ?? DecodeText(r), r.Finish ?? throw new UnreachableException("generation ends only when every row has finished")))];
    }

    // One forward pass over the new input (the prompts at the first step, the chosen tokens after it)
    // and one sampled token per batch position; the result lives in the caller's step scope.
    private Tensor SampleNextTokens(DecodingBatch batch, KvCache cache, Func<Tensor, Tensor> choose)
    {
        using var logits = _model.forward(batch.Input, batch.Mask, cache, lastPositionOnly: true); // (B, 1, V)
        using var last = logits.select(1, 0); // (B, V)
        return choose(last); // (B)
    }

    // The first step with each prompt run alone (no padding, so attention takes its causal fast path)
    // into a one-row cache whose positions are copied into the batch cache, right-aligned as the
    // left-padded batch has them; then one token per row is sampled as in SampleNextTokens.
    private Tensor PrefillRowByRow(IReadOnlyList<IReadOnlyList<int>> prompts, DecodingBatch batch, KvCache cache, Func<Tensor, Tensor> choose)
    {
        var device = DeviceOf();
        var lasts = new List<Tensor>(prompts.Count);
        for (var i = 0; i < prompts.Count; i++)
        {
            using var ids = tensor(prompts[i].Select(t => (long)t).ToArray(), [1, prompts[i].Count], device: device); // (1, L_i)
            using var rowCache = _model.CreateCache(prompts[i].Count);
            using var logits = _model.forward(ids, null, rowCache, lastPositionOnly: true); // (1, 1, V)
            lasts.Add(logits.select(1, 0)); // (1, V)
            cache.WriteRow(i, prompts.Count, rowCache, batch.PromptWidth);
        }
        cache.Advance(batch.PromptWidth);
        using var last = cat(lasts, 0); // (B, V)
        return choose(last); // (B)
    }

    // Appends each unfinished row's token and decides whether the row finishes with it (EOS before a
    // stop string before the length limit, which is checked here only); returns how many rows are
    // still unfinished. Rows dropped from the batch had all finished.
    private static int RecordChosenTokens(Row[] rows, IReadOnlyList<int> rowIndices, Tensor chosen, FinishRules rules)
    {
        var ids = chosen.cpu().data<long>().ToArray();
        var unfinished = 0;
        for (var j = 0; j < rowIndices.Count; j++)
        {
            var row = rows[rowIndices[j]];
            if (row.Finish is not null)
            {
                // Finished rows ride along until the next bulk drop; what they sample is ignored.
                continue;
            }
            var token = (int)ids[j];
            row.Tokens.Add(token);
            if (rules.Eos.Contains(token))
            {
                row.Finish = FinishReason.Eos;
            }
            else if (rules.Stops?.TextBeforeStop(row.Tokens) is { } cut)
            {
                row.Finish = FinishReason.StopString;
                row.Text = cut;
            }
            else if (row.Tokens.Count >= rules.MaxNewTokens)
            {
                row.Finish = FinishReason.Length;
            }
            unfinished += row.Finish is null ? 1 : 0;
        }
        return unfinished;
    }

    // Dropping rows copies the KV cache, so finished rows are dropped in bulk, once they are at least a
    // quarter of the batch, rather than one at a time.
    private static void DropFinishedRowsInBulk(DecodingBatch batch, Row[] rows, KvCache cache)
    {
        var positions = batch.RowIndices.Count;
        var keep = Enumerable.Range(0, positions).Where(j => rows[batch.RowIndices[j]].Finish is null).ToList();
        var finished = positions - keep.Count;
        if (finished > 0 && finished * 4 >= positions)
        {
            batch.Keep(keep, cache);
        }
    }

    /// <summary>
    /// Left-pads <paramref name="prompts"/> with <paramref name="pad"/> into ids (B, L) and an
    /// attention mask (B, L) that is 0 on padding, both int64.
    /// </summary>
    public static (Tensor Ids, Tensor Mask) LeftPad(IReadOnlyList<IReadOnlyList<int>> prompts, int pad, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var longest = prompts.Max(p => p.Count);
        var ids = new long[prompts.Count * longest];
        var mask = new long[prompts.Count * longest];
        for (var i = 0; i < prompts.Count; i++)
        {
            var offset = longest - prompts[i].Count;
            for (var t = 0; t < longest; t++)
            {
                var real = t >= offset;
                ids[(i * longest) + t] = real ? prompts[i][t - offset] : pad;
                mask[(i * longest) + t] = real ? 1 : 0;
            }
        }
        return (
            tensor(ids, [prompts.Count, longest], device: device).DetachFromDisposeScope(),
            tensor(mask, [prompts.Count, longest], device: device).DetachFromDisposeScope());
    }

    private Device DeviceOf() => _model.Model.EmbedTokens.weight!.device;

    private string? DecodeText(Row row)
    {
        if (_tokenizer is null)
        {
            return null;
        }
        return _tokenizer.Decode(row.Tokens, skipSpecialTokens: true);
    }

    // What ends a row, in the order it is checked: an EOS id, a stop string, the length limit.
    private sealed record FinishRules(HashSet<int> Eos, StopStringMatcher? Stops, int MaxNewTokens);

    private sealed class Row(int index, int promptTokens)
    {
        public int Index { get; } = index;

        public int PromptTokens { get; } = promptTokens;

        public List<int> Tokens { get; } = [];

        public FinishReason? Finish { get; set; }

        public string? Text { get; set; }
    }
}
