using System.Diagnostics;
using System.Text;
using Skim.Core.Formats.Npy;

namespace Skim.Models.Tokenization;

/// <summary>
/// Tokenizes a text file into NGAME's token files, <c>PREFIX_input_ids.npy</c> and
/// <c>PREFIX_attention_mask.npy</c> (int64, shape (N, max_len), <c>[CLS] … [SEP]</c> then padding for
/// BERT), as NGAME's <c>create_tokenized_files.py</c> does. Memory stays fixed for any N: a first pass
/// counts the lines, the second tokenizes a window of batches in parallel and appends them in order.
/// Both files appear only when complete.
/// </summary>
public static class TokenFileWriter
{
    /// <summary>Writes the token files for <paramref name="options"/> with <paramref name="tokenizer"/>.</summary>
    public static async Task<TokenFileResult> WriteAsync(ITextTokenizer tokenizer, TokenFileOptions options, IProgress<TokenFileProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        var total = await CountLinesAsync(options.InputPath, cancellationToken).ConfigureAwait(false);
        progress?.Report(new TokenFileProgress(0, total));
        long[] shape = [total, options.MaxLength];
        using var ids = NpyWriter.Create(options.InputIdsPath, NpyDType.Int64, shape);
        using var mask = NpyWriter.Create(options.AttentionMaskPath, NpyDType.Int64, shape);
        var encode = new BatchEncodeOptions { MaxLength = options.MaxLength };
        var window = new List<string>[options.Parallelism];
        var results = new (EncodedBatch Batch, long Truncated)[options.Parallelism];
        long written = 0;
        long truncated = 0;
        using var reader = OpenText(options.InputPath);
        while (true)
        {
            var filled = await FillWindowAsync(reader, window, options.BatchSize, cancellationToken).ConfigureAwait(false);
            if (filled == 0)
            {
                break;
            }
            Parallel.For(0, filled, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken }, i =>
            {
                results[i] = Encode(tokenizer, window[i], encode);
            });
            for (var i = 0; i < filled; i++)
            {
                if (written + results[i].Batch.Rows > total)
                {
                    throw new IOException($"{options.InputPath}: the file grew while it was being tokenized");
                }
                ids.WriteRows<long>(results[i].Batch.InputIds);
                mask.WriteRows<long>(results[i].Batch.AttentionMask);
                written += results[i].Batch.Rows;
                truncated += results[i].Truncated;
                results[i] = default;
            }
            progress?.Report(new TokenFileProgress(written, total));
        }
        if (written != total)
        {
            throw new IOException($"{options.InputPath}: {written} lines read but {total} counted; the file changed while it was being tokenized");
        }
        ids.Complete();
        mask.Complete();
        return new TokenFileResult(ids.Path, mask.Path, total, options.MaxLength, truncated, clock.Elapsed);
    }

    private static (EncodedBatch Batch, long Truncated) Encode(ITextTokenizer tokenizer, List<string> texts, BatchEncodeOptions options)
    {
        var fullLengths = new int[texts.Count];
        var batch = TextTokenizerExtensions.EncodeBatch(tokenizer, texts, options, fullLengths);
        return (batch, fullLengths.Count(length => length > batch.Width));
    }

    private static async Task<int> FillWindowAsync(StreamReader reader, List<string>[] window, int batchSize, CancellationToken ct)
    {
        for (var slot = 0; slot < window.Length; slot++)
        {
            var batch = window[slot] ??= new List<string>(batchSize);
            batch.Clear();
            while (batch.Count < batchSize && await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                batch.Add(line.Trim());
            }
            if (batch.Count == 0)
            {
                return slot;
            }
            if (batch.Count < batchSize)
            {
                return slot + 1;
            }
        }
        return window.Length;
    }

    // Lines as StreamReader splits them (\n, \r\n or \r), the same way the second pass reads them.
    private static async Task<long> CountLinesAsync(string path, CancellationToken ct)
    {
        using var reader = OpenText(path);
        long count = 0;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is not null)
        {
            count++;
        }
        return count;
    }

    private static StreamReader OpenText(string path) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
}
