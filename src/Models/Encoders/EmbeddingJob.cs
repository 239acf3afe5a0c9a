using System.Diagnostics;
using System.Runtime.InteropServices;
using Skim.Core.Formats.Npy;
using Skim.Models.Devices;
using Skim.Models.Tokenization;
using static TorchSharp.torch;

namespace Skim.Models.Encoders;

/// <summary>
/// Embeds a text file (tokenised on the fly) or NGAME token files (memory-mapped) with a
/// <see cref="TextEncoder"/>, batch by batch, into an <c>.npy</c> file of float32 or float16 rows.
/// Each batch is clipped to its longest real row, as NGAME's collate does, so short texts cost
/// little. Memory stays fixed for any number of rows; the file appears only when complete.
/// </summary>
public static class EmbeddingJob
{
    /// <summary>Loads the model of <paramref name="options"/> and embeds its input.</summary>
    /// <exception cref="Core.SkimException">An option, the model, the tokenizer or the input is invalid (one line, naming it).</exception>
    public static async Task<EmbeddingResult> RunAsync(EmbeddingOptions options, IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        // The input is located before the model loads, so a typo fails in milliseconds.
        EmbeddingSource.Resolve(options.InputPath);
        using var encoder = TextEncoder.Load(options.ModelDirectory, options.EncoderOptions);
        return await RunAsync(encoder, options, progress, clock, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Embeds the input of <paramref name="options"/> with an already loaded <paramref name="encoder"/>
    /// (whose own pooling, normalisation, dtypes and device apply; the model options are ignored). The
    /// tokenizer for text input is still read from <see cref="EmbeddingOptions.TokenizerDirectory"/> or
    /// the model folder.
    /// </summary>
    public static Task<EmbeddingResult> RunAsync(TextEncoder encoder, EmbeddingOptions options, IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return RunAsync(encoder, options, progress, Stopwatch.StartNew(), cancellationToken);
    }

    /// <summary>
    /// Cuts a right-padded batch to its longest real row (NGAME's collate): columns after the last one
    /// whose mask is set anywhere in the batch. Padding positions do not change a masked encoder's
    /// output, so the embeddings are the same, only cheaper.
    /// </summary>
    /// <returns>The batch itself when nothing can be cut, else a narrower copy (at least one column).</returns>
    public static EncodedBatch ClipToLongest(EncodedBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var width = 1;
        for (var r = 0; r < batch.Rows; r++)
        {
            var mask = batch.MaskOf(r);
            var last = mask.LastIndexOfAnyExcept(0L);
            width = Math.Max(width, last + 1);
        }
        if (width >= batch.Width)
        {
            return batch;
        }
        var ids = new long[batch.Rows * width];
        var masks = new long[ids.Length];
        for (var r = 0; r < batch.Rows; r++)
        {
            batch.IdsOf(r)[..width].CopyTo(ids.AsSpan(r * width, width));
            batch.MaskOf(r)[..width].CopyTo(masks.AsSpan(r * width, width));
        }
        return new EncodedBatch(ids, masks, batch.Rows, width);
    }

    private static async Task<EmbeddingResult> RunAsync(TextEncoder encoder, EmbeddingOptions options, IProgress<EmbeddingProgress>? progress, Stopwatch clock, CancellationToken ct)
    {
        var (kind, path) = EmbeddingSource.Resolve(options.InputPath);
        using var source = kind == EmbeddingInputKind.Text
            ? await OpenTextAsync(encoder, options, path, ct).ConfigureAwait(false)
            : EmbeddingSource.OpenTokenFiles(path);
        var outputDType = TorchDevices.ParseDType(encoder.Options.OutputDType, "--output-dtype") == ScalarType.Float16 ? NpyDType.Float16 : NpyDType.Float32;
        using var writer = NpyWriter.Create(options.OutputPath, outputDType, [source.Rows, encoder.Dimension]);
        progress?.Report(new EmbeddingProgress(0, source.Rows, clock.Elapsed));
        long done = 0;
        long tokens = 0;
        long computed = 0;
        while (await source.NextAsync(options.BatchSize, ct).ConfigureAwait(false) is { } next)
        {
            ct.ThrowIfCancellationRequested();
            var batch = ClipToLongest(next);
            using (var scope = NewDisposeScope())
            {
                var ids = tensor(batch.InputIds, [batch.Rows, batch.Width]); // (B, T)
                var mask = tensor(batch.AttentionMask, [batch.Rows, batch.Width]); // (B, T)
                var embeddings = encoder.Embed(ids, mask).contiguous(); // (B, D) on the CPU
                Write(writer, embeddings);
            }
            done += batch.Rows;
            tokens += batch.AttentionMask.LongCount(m => m != 0);
            computed += (long)batch.Rows * batch.Width;
            progress?.Report(new EmbeddingProgress(done, source.Rows, clock.Elapsed));
        }
        writer.Complete();
        return new EmbeddingResult(writer.Path, done, encoder.Dimension, outputDType == NpyDType.Float16 ? "float16" : "float32", source.Kind,
            source.Description, encoder.Device.ToString(), tokens, computed, clock.Elapsed);
    }

    private static async Task<EmbeddingSource> OpenTextAsync(TextEncoder encoder, EmbeddingOptions options, string path, CancellationToken ct)
    {
        var tokenizerDirectory = options.TokenizerDirectory ?? options.ModelDirectory;
        var tokenizer = TokenizerLoader.Load(tokenizerDirectory);
        encoder.CheckTokenizer(tokenizer.VocabularySize, tokenizerDirectory);
        return await EmbeddingSource.OpenTextAsync(path, tokenizer, tokenizerDirectory, options.MaxLength, ct).ConfigureAwait(false);
    }

    // Rows go from the tensor's memory straight to the file, without a managed copy.
    private static void Write(NpyWriter writer, Tensor embeddings)
    {
        var bytes = embeddings.bytes;
        if (writer.Header.DType == NpyDType.Float16)
        {
            writer.WriteRows<Half>(MemoryMarshal.Cast<byte, Half>(bytes));
        }
        else
        {
            writer.WriteRows<float>(MemoryMarshal.Cast<byte, float>(bytes));
        }
    }
}
