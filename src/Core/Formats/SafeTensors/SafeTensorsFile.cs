using System.Buffers.Binary;
using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Skim.Core.Formats.SafeTensors;

/// <summary>
/// A Hugging Face safetensors file opened read-only: an 8-byte little-endian
/// header length, a JSON header (<c>{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}</c>),
/// then the tensor bytes. Opening reads and validates only the header (bounded by the file length
/// and 100 MB); tensor bytes are read on demand, with positional reads served by the page cache, when
/// a tensor is converted or copied. Tensors stay usable until the file is disposed.
/// </summary>
[SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix", Justification = "Named after the file format it reads.")]
public sealed class SafeTensorsFile : IReadOnlyDictionary<string, RawTensor>, IDisposable
{
    /// <summary>The largest header accepted (the Rust safetensors crate uses the same bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private readonly WeightFile _file;
    private readonly Dictionary<string, RawTensor> _tensors;
    private readonly List<string> _names;

    private SafeTensorsFile(WeightFile file, List<string> names, Dictionary<string, RawTensor> tensors, Dictionary<string, string> metadata)
    {
        _file = file;
        _names = names;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Gets the path the file was opened from.</summary>
    public string Path => _file.Path;

    /// <summary>Gets the tensor names in header order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Gets the free-form string metadata of the header's <c>__metadata__</c> entry (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <inheritdoc />
    public int Count => _names.Count;

    /// <inheritdoc />
    public IEnumerable<string> Keys => _names;

    /// <inheritdoc />
    public IEnumerable<RawTensor> Values => _names.Select(n => _tensors[n]);

    /// <summary>Gets the tensor called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    public RawTensor this[string name] =>
        _tensors.TryGetValue(name, out var tensor) ? tensor : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="SkimFormatException">The file is not a valid safetensors file (the message names the problem).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var length = new FileInfo(path).Length;
        if (length < 8)
        {
            throw new SkimFormatException(path, null, $"file is {length} bytes, shorter than the 8-byte header length of a safetensors file");
        }
        var headerBytes = ReadHeaderBytes(path, length);
        var (names, entries, metadata) = ParseHeader(path, headerBytes, length - 8 - headerBytes.Length);
        var dataStart = 8 + headerBytes.Length;
        var file = new WeightFile(path, length);
        try
        {
            var tensors = new Dictionary<string, RawTensor>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                tensors[entry.Name] = new RawTensor(entry.Name, entry.DType, entry.Shape, new FileTensorData(file, dataStart + entry.Begin, entry.End - entry.Begin));
            }
            return new SafeTensorsFile(file, names, tensors, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public bool ContainsKey(string key) => _tensors.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out RawTensor value) => _tensors.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, RawTensor>> GetEnumerator() =>
        _names.Select(n => new KeyValuePair<string, RawTensor>(n, _tensors[n])).GetEnumerator();

    /// <inheritdoc />
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Closes the file; tensors read from it afterwards throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => _file.Dispose();

    private static byte[] ReadHeaderBytes(string path, long fileLength)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - 8))
        {
            throw new SkimFormatException(path, "header", $"header length {headerLength} exceeds the {fileLength - 8} bytes that follow it (truncated file or not a safetensors file)");
        }
        if (headerLength > MaxHeaderBytes)
        {
            throw new SkimFormatException(path, "header", $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
        }
        var header = new byte[(int)headerLength];
        stream.ReadExactly(header);
        return header;
    }

    private static (List<string> Names, List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(string path, byte[] header, long dataLength)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
        {
            throw new SkimFormatException(path, "header", "expected a JSON object starting with '{'");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, "header", $"invalid JSON: {e.Message}");
        }
        using (document)
        {
            var names = new List<string>();
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw new SkimFormatException(path, $"header entry '{property.Name}'", "appears twice");
                }
                if (property.Name == MetadataKey)
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }
                entries.Add(ReadEntry(path, property.Name, property.Value, dataLength));
                names.Add(property.Name);
            }
            CheckNoOverlap(path, entries);
            return (names, entries, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new SkimFormatException(path, $"header entry '{MetadataKey}'", $"expected an object of strings, found {value.ValueKind}");
        }
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new SkimFormatException(path, $"header entry '{MetadataKey}.{item.Name}'", $"expected a string, found {item.Value.GetRawText()}");
            }
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static Entry ReadEntry(string path, string name, JsonElement value, long dataLength)
    {
        var where = $"tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new SkimFormatException(path, where, $"expected an object with dtype, shape and data_offsets, found {value.ValueKind}");
        }
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new SkimFormatException(path, where, "missing string field 'dtype'");
        }
        var dtypeName = dtypeElement.GetString()!;
        if (!TensorDTypes.TryParseSafeTensorsName(dtypeName, out var dtype))
        {
            var known = string.Join(", ", TensorDTypes.All.Select(d => d.SafeTensorsName()));
            throw new SkimFormatException(path, where, $"dtype '{dtypeName}' is not supported (expected one of {known})");
        }
        var shape = ReadIntegers(path, where, value, "shape", expectedCount: null);
        var offsets = ReadIntegers(path, where, value, "data_offsets", expectedCount: 2);
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end)
        {
            throw new SkimFormatException(path, where, $"data_offsets [{begin}, {end}] end before they begin");
        }
        if (end > dataLength)
        {
            throw new SkimFormatException(path, where, $"data_offsets [{begin}, {end}] reach beyond the {dataLength}-byte data region (truncated file?)");
        }
        var count = RawTensor.ElementCountOf(shape);
        if (count is null || count.Value > long.MaxValue / dtype.ElementSize() || count.Value * dtype.ElementSize() != end - begin)
        {
            throw new SkimFormatException(path, where, $"shape [{string.Join(", ", shape)}] of {dtypeName} does not fit data_offsets [{begin}, {end}] ({end - begin} bytes)");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long[] ReadIntegers(string path, string where, JsonElement value, string field, int? expectedCount)
    {
        if (!value.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new SkimFormatException(path, where, $"missing array field '{field}'");
        }
        var length = array.GetArrayLength();
        if (expectedCount is { } expected && length != expected)
        {
            throw new SkimFormatException(path, where, $"'{field}' has {length} entries, expected {expected}");
        }
        var result = new long[length];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var number) || number < 0)
            {
                throw new SkimFormatException(path, where, $"'{field}' expected non-negative integers, found {item.GetRawText()}");
            }
            result[i++] = number;
        }
        return result;
    }

    private static void CheckNoOverlap(string path, List<Entry> entries)
    {
        var ordered = entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Begin < ordered[i - 1].End)
            {
                throw new SkimFormatException(path, $"tensor '{ordered[i].Name}'",
                    $"data_offsets [{ordered[i].Begin}, {ordered[i].End}] overlap tensor '{ordered[i - 1].Name}' [{ordered[i - 1].Begin}, {ordered[i - 1].End}]");
            }
        }
    }

    private sealed record Entry(string Name, TensorDType DType, long[] Shape, long Begin, long End);
}
