using System.Buffers.Binary;
using System.Text.Json;
using Skim.Core.IO;

namespace Skim.Core.Formats.SafeTensors;

/// <summary>
/// Writes safetensors files as the Rust crate does: tensors ordered by element size (largest first,
/// so every tensor starts at a multiple of its element size) then by name, contiguous offsets, and
/// the JSON header padded with spaces to a multiple of 8 bytes. Files are written atomically.
/// </summary>
public static class SafeTensorsWriter
{
    private const int CopyChunkBytes = 1 << 20;

    /// <summary>Writes <paramref name="tensors"/> and optional string <paramref name="metadata"/> to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">Two tensors share a name, or a name is "__metadata__".</exception>
    public static void Write(string path, IEnumerable<RawTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var ordered = tensors
            .OrderByDescending(t => t.DType.ElementSize())
            .ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        var header = BuildHeader(ordered, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            var buffer = new byte[CopyChunkBytes];
            foreach (var tensor in ordered)
            {
                for (long offset = 0; offset < tensor.ByteLength; offset += CopyChunkBytes)
                {
                    var chunk = buffer.AsSpan(0, (int)Math.Min(CopyChunkBytes, tensor.ByteLength - offset));
                    tensor.CopyTo(offset, chunk);
                    stream.Write(chunk);
                }
            }
        });
    }

    /// <summary>
    /// Writes a sharded Hugging Face checkpoint into <paramref name="folder"/>: shards named
    /// <c>model-00001-of-0000N.safetensors</c> of at most <paramref name="maxShardBytes"/> tensor bytes
    /// each (a larger tensor gets a shard of its own) and <c>model.safetensors.index.json</c> with
    /// <c>metadata.total_size</c> and the <c>weight_map</c>. With a single shard, writes only
    /// <c>model.safetensors</c>, as transformers does. Returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> WriteSharded(string folder, IEnumerable<RawTensor> tensors, long maxShardBytes, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        var shards = new List<List<RawTensor>> { new() };
        long current = 0;
        // Keep the caller's order (usually module order), as transformers' shard_checkpoint does.
        foreach (var tensor in tensors)
        {
            if (current > 0 && current + tensor.ByteLength > maxShardBytes)
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(tensor);
            current += tensor.ByteLength;
        }
        if (shards.Count == 1)
        {
            var single = Path.Combine(folder, SafeTensorsIndex.SingleFileName);
            Write(single, shards[0], metadata);
            return [single];
        }
        var written = new List<string>();
        var weightMap = new List<KeyValuePair<string, string>>();
        long total = 0;
        for (var i = 0; i < shards.Count; i++)
        {
            var name = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors");
            var path = Path.Combine(folder, name);
            Write(path, shards[i], metadata);
            written.Add(path);
            foreach (var tensor in shards[i])
            {
                weightMap.Add(new(tensor.Name, name));
                total += tensor.ByteLength;
            }
        }
        var indexPath = Path.Combine(folder, SafeTensorsIndex.IndexFileName);
        AtomicFile.Write(indexPath, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            writer.WriteStartObject();
            writer.WriteStartObject("metadata");
            writer.WriteNumber("total_size", total);
            writer.WriteEndObject();
            writer.WriteStartObject("weight_map");
            foreach (var (tensorName, shardName) in weightMap.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.WriteString(tensorName, shardName);
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        });
        written.Add(indexPath);
        return written;
    }

    /// <summary>Builds the padded header bytes for tensors already in file order.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<RawTensor> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var tensor in ordered)
            {
                if (tensor.Name == "__metadata__" || !names.Add(tensor.Name))
                {
                    throw new ArgumentException($"tensor name '{tensor.Name}' is reserved or used twice", nameof(ordered));
                }
                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", tensor.DType.SafeTensorsName());
                writer.WriteStartArray("shape");
                foreach (var dim in tensor.Shape)
                {
                    writer.WriteNumberValue(dim);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + tensor.ByteLength);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += tensor.ByteLength;
            }
            writer.WriteEndObject();
        }
        // Readers may map the data region and view it as f64/i64; padding keeps it 8-byte aligned.
        var length = json.Length;
        var padded = (length + 7) / 8 * 8;
        var header = new byte[padded];
        json.GetBuffer().AsSpan(0, (int)length).CopyTo(header);
        header.AsSpan((int)length).Fill((byte)' ');
        return header;
    }
}
