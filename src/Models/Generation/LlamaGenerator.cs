using System.Runtime.CompilerServices;
using Skim.Models.Llama;
using Skim.Models.Tokenization;
using static TorchSharp.torch;

namespace Skim.Models.Generation;

/// <summary>
/// Batched generation with a KV cache: prompts are left-padded into one batch, the prompt is run
/// once, then one token per step is chosen for every unfinished sequence. Sequences finish
/// independently (EOS, stop string, length); finished rows are dropped from the batch once a quarter
/// of it is done, and the loop ends when all are done. Each step runs in its own dispose scope, so
/// memory stays flat however long generation runs.
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
            var result = await Task.Run(() => Generate(batch, options, sampler, first, ct), ct).ConfigureAwait(false);
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
        return Generate(prompts, options, sampler, 0, ct);
    }

    private IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, TokenSampler sampler, int firstIndex, CancellationToken ct)
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
        var eos = (options.EosTokenIds ?? config.EosTokenIds).ToHashSet();
        var pad = options.PadTokenId ?? config.PadTokenId ?? (config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : 0);
        var rows = prompts.Select((p, i) => new Row(firstIndex + i, p.Count)).ToArray();
        var device = DeviceOf();

        var wasTraining = _model.training;
        _model.eval();
        using var noGrad = no_grad();
        var (ids, mask) = LeftPad(prompts, pad, device); // (B, L) each
        var longest = (int)ids.shape[1];
        using var cache = _model.CreateCache(longest + options.MaxNewTokens);
        // active[j] = the row that batch position j holds; shrinks as finished rows are dropped.
        var active = Enumerable.Range(0, rows.Length).ToList();
        var input = ids;
        try
        {
            for (var step = 0; step < options.MaxNewTokens && active.Count > 0; step++)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var logits = _model.forward(input, mask, cache, lastPositionOnly: true); // (B, 1, V)
                using var last = logits.select(1, 0); // (B, V)
                using var next = sampler.Sample(last); // (B)
                var chosen = next.cpu().data<long>().ToArray();

                var finishedNow = 0;
                for (var j = 0; j < active.Count; j++)
                {
                    var row = rows[active[j]];
                    if (row.Finish is not null)
                    {
                        continue;
                    }
                    var token = (int)chosen[j];
                    row.Tokens.Add(token);
                    if (eos.Contains(token))
                    {
                        row.Finish = FinishReason.Eos;
                    }
                    else if (options.StopStrings.Count > 0 && StopAt(row, options.StopStrings) is { } cut)
                    {
                        row.Finish = FinishReason.StopString;
                        row.Text = cut;
                    }
                    else if (row.Tokens.Count >= options.MaxNewTokens)
                    {
                        row.Finish = FinishReason.Length;
                    }
                    finishedNow += row.Finish is null ? 0 : 1;
                }

                var unfinished = active.Where(r => rows[r].Finish is null).ToList();
                if (unfinished.Count == 0 || step + 1 == options.MaxNewTokens)
                {
                    active = unfinished;
                    break;
                }

                // Next step's inputs: the chosen tokens, and one more "real" column in the mask.
                using var column = ones(active.Count, 1, ScalarType.Int64, device); // (B, 1)
                var nextMask = cat([mask, column], 1); // (B, S + 1)
                var nextInput = next.unsqueeze(1); // (B, 1)
                var finished = active.Count - unfinished.Count;
                if (finished > 0 && finished * 4 >= active.Count)
                {
                    // Dropping rows copies the cache, so it is done in bulk rather than per finished row.
                    var keep = Enumerable.Range(0, active.Count).Where(j => rows[active[j]].Finish is null).Select(j => (long)j).ToArray();
                    using var keepRows = tensor(keep, device: device); // (B')
                    cache.SelectRows(keepRows);
                    var selectedMask = nextMask.index_select(0, keepRows); // (B', S + 1)
                    var selectedInput = nextInput.index_select(0, keepRows); // (B', 1)
                    nextMask.Dispose();
                    nextInput.Dispose();
                    (nextMask, nextInput) = (selectedMask, selectedInput);
                    active = unfinished;
                }
                Replace(ref mask, nextMask.DetachFromDisposeScope());
                Replace(ref input, nextInput.DetachFromDisposeScope());
            }
            foreach (var r in active)
            {
                rows[r].Finish ??= FinishReason.Length;
            }
        }
        finally
        {
            // input is the padded prompt until the first step replaces (and disposes) it.
            input.Dispose();
            mask.Dispose();
            _model.train(wasTraining);
        }
        return [.. rows.Select(r => new GeneratedSequence(r.Index, r.PromptTokens, r.Tokens, r.Text ?? DecodeText(r), r.Finish ?? FinishReason.Length))];
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

    // The text before the first stop string, or null while none has appeared.
    private string? StopAt(Row row, IReadOnlyList<string> stops)
    {
        var text = _tokenizer!.Decode(row.Tokens, skipSpecialTokens: true);
        var cut = -1;
        foreach (var stop in stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut))
            {
                cut = at;
            }
        }
        return cut < 0 ? null : text[..cut];
    }

    private static void Replace(ref Tensor field, Tensor value)
    {
        field.Dispose();
        field = value;
    }

    private sealed class Row(int index, int promptTokens)
    {
        public int Index { get; } = index;

        public int PromptTokens { get; } = promptTokens;

        public List<int> Tokens { get; } = [];

        public FinishReason? Finish { get; set; }

        public string? Text { get; set; }
    }
}
