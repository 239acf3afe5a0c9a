using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.Stages;
using Skim.Models.Encoders;
using Skim.Models.Tokenization;
using static TorchSharp.torch;

namespace Skim.MapQueries.Step2;

/// <summary>
/// Embeds a range of chunks of texts into <c>.part-NNNNN.npy</c> files and concatenates them into
/// one (rows, dimension) file. Batches start at each chunk's first row, so a resumed run, a sharded
/// run and a single run compute the very same batches and write identical bytes.
/// </summary>
internal sealed class ChunkedEmbedder(TextEncoder encoder, ITextTokenizer tokenizer, int maxLength, int batchSize, NpyDType dtype) : IDisposable
{
    // NGAME's collate pads each batch to its longest row; the clip below does the rest.
    private readonly BatchEncodeOptions _encode = new() { MaxLength = maxLength, PadToMaxLength = false };

    /// <summary>Gets the embedding width.</summary>
    public int Dimension => encoder.Dimension;

    /// <summary>
    /// Makes <paramref name="finalPath"/> hold the embeddings of chunks [<paramref name="firstChunk"/>,
    /// <paramref name="endChunk"/>) of <paramref name="texts"/>: chunks already written are kept,
    /// the others computed. Returns the rows computed by this call.
    /// </summary>
    public long Embed(
        TextRows texts,
        long totalRows,
        int chunkRows,
        int firstChunk,
        int endChunk,
        string finalPath,
        string phase,
        IProgress<StageProgress>? progress,
        CancellationToken ct)
    {
        var firstRow = Math.Min(totalRows, (long)firstChunk * chunkRows);
        var rows = Math.Min(totalRows, (long)endChunk * chunkRows) - firstRow;
        if (File.Exists(finalPath))
        {
            NpyChunks.CheckMatrix(finalPath, dtype, rows, Dimension, $"embeddings of {texts.Name}");
            progress?.Report(new StageProgress(phase, rows, rows, "rows", "already embedded"));
            return 0;
        }
        var stem = Path.GetFileNameWithoutExtension(finalPath);
        var partsDirectory = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(finalPath))!, stem + ".parts");
        Directory.CreateDirectory(partsDirectory);
        var clock = Stopwatch.StartNew();
        long done = 0;
        long computed = 0;
        var parts = new List<string>();
        for (var chunk = firstChunk; chunk < endChunk; chunk++)
        {
            ct.ThrowIfCancellationRequested();
            var (first, count) = NpyChunks.Range(chunk, totalRows, chunkRows);
            var part = NpyChunks.PartPath(partsDirectory, stem, chunk);
            parts.Add(part);
            if (File.Exists(part))
            {
                NpyChunks.CheckMatrix(part, dtype, count, Dimension, $"embeddings of {texts.Name}, chunk {chunk}");
                done += count;
                progress?.Report(new StageProgress(phase, done, rows, "rows", "resumed"));
                continue;
            }
            using (var writer = NpyWriter.Create(part, dtype, [count, Dimension]))
            {
                for (var offset = 0; offset < count; offset += batchSize)
                {
                    ct.ThrowIfCancellationRequested();
                    var size = Math.Min(batchSize, count - offset);
                    EmbedBatch(texts, first + offset, size, writer);
                    done += size;
                    computed += size;
                    progress?.Report(new StageProgress(phase, done, rows, "rows", Rate(computed, clock)));
                }
                writer.Complete();
            }
        }
        if (parts.Count == 0)
        {
            using var empty = NpyWriter.Create(finalPath, dtype, [0, Dimension]);
            empty.Complete();
        }
        else
        {
            NpyChunks.Concatenate(parts, finalPath, ct);
        }
        NpyChunks.DeleteParts(partsDirectory);
        return computed;
    }

    /// <summary>Disposes the encoder.</summary>
    public void Dispose() => encoder.Dispose();

    /// <summary>Gets "N rows/s" for progress details.</summary>
    public static string Rate(long rows, Stopwatch clock) =>
        string.Create(CultureInfo.InvariantCulture, $"{rows / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0} rows/s");

    private void EmbedBatch(TextRows texts, long first, int size, NpyWriter writer)
    {
        // NGAME strips each line before tokenising (as `skim embed` and `skim tokenize` do).
        var batch = EmbeddingJob.ClipToLongest(tokenizer.EncodeBatch([.. texts.Read(first, size).Select(t => t.Trim())], _encode));
        using var scope = NewDisposeScope();
        var ids = tensor(batch.InputIds, [batch.Rows, batch.Width]); // (B, T)
        var mask = tensor(batch.AttentionMask, [batch.Rows, batch.Width]); // (B, T)
        var embeddings = encoder.Embed(ids, mask).contiguous(); // (B, D) on the CPU
        var bytes = embeddings.bytes;
        if (dtype == NpyDType.Float16)
        {
            var values = MemoryMarshal.Cast<byte, Half>(bytes);
            for (var i = 0; i < values.Length; i++)
            {
                if (!Half.IsFinite(values[i]))
                {
                    ThrowNotFinite(texts, first, i, (float)values[i]);
                }
            }
            writer.WriteRows<Half>(values);
        }
        else
        {
            var values = MemoryMarshal.Cast<byte, float>(bytes);
            for (var i = 0; i < values.Length; i++)
            {
                if (!float.IsFinite(values[i]))
                {
                    ThrowNotFinite(texts, first, i, values[i]);
                }
            }
            writer.WriteRows<float>(values);
        }
    }

    private void ThrowNotFinite(TextRows texts, long first, int index, float value) =>
        throw new SkimDataException(texts.Name, $"line {first + (index / Dimension) + 1}",
            $"the encoder produced a non-finite embedding ({value}) for this text; check the encoder's weights and dtype");
}
