using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Skim.Core.Formats.SafeTensors;

/// <summary>
/// The weights of a Hugging Face checkpoint folder as one name → tensor map: either a sharded
/// checkpoint (<c>model.safetensors.index.json</c> whose <c>weight_map</c> names the shard of every
/// tensor) or a single <c>model.safetensors</c>. Shards stay open and are read on demand; dispose to close them.
/// </summary>
[SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix", Justification = "Named after the index file it reads.")]
public sealed class SafeTensorsIndex : IReadOnlyDictionary<string, RawTensor>, IDisposable
{
    /// <summary>The index file name Hugging Face uses for sharded safetensors checkpoints.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>The file name of an unsharded safetensors checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";

    private const long MaxIndexBytes = 100_000_000;

    private readonly List<SafeTensorsFile> _shards;
    private readonly Dictionary<string, RawTensor> _tensors;
    private readonly List<string> _names;

    private SafeTensorsIndex(string path, List<SafeTensorsFile> shards, List<string> names, Dictionary<string, RawTensor> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _shards = shards;
        _names = names;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Gets the index file (or the single safetensors file) the weights were opened from.</summary>
    public string Path { get; }

    /// <summary>Gets the tensor names: weight_map order for an index, header order for a single file.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Gets the opened shard files.</summary>
    public IReadOnlyList<SafeTensorsFile> Shards => _shards;

    /// <summary>
    /// Gets the index's <c>metadata</c> (strings as they are, other JSON values as their JSON text,
    /// e.g. <c>total_size</c>), or the single file's <c>__metadata__</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <inheritdoc />
    public int Count => _names.Count;

    /// <inheritdoc />
    public IEnumerable<string> Keys => _names;

    /// <inheritdoc />
    public IEnumerable<RawTensor> Values => _names.Select(n => _tensors[n]);

    /// <summary>Gets the tensor called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No shard holds such a tensor.</exception>
    public RawTensor this[string name] =>
        _tensors.TryGetValue(name, out var tensor) ? tensor : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>
    /// Opens the weights at <paramref name="path"/>: a checkpoint folder (index preferred over a single
    /// file), an index JSON file, or a single <c>.safetensors</c> file.
    /// </summary>
    /// <exception cref="SkimFormatException">The folder holds no safetensors weights, or a file is invalid.</exception>
    public static SafeTensorsIndex Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            var index = System.IO.Path.Combine(path, IndexFileName);
            var single = System.IO.Path.Combine(path, SingleFileName);
            if (File.Exists(index))
            {
                return OpenIndex(index);
            }
            if (File.Exists(single))
            {
                return OpenSingle(single);
            }
            throw new SkimFormatException(path, null, $"folder holds neither {IndexFileName} nor {SingleFileName}");
        }
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "no such file or folder");
        }
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? OpenIndex(path) : OpenSingle(path);
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

    /// <summary>Closes every shard.</summary>
    public void Dispose()
    {
        foreach (var shard in _shards)
        {
            shard.Dispose();
        }
    }

    private static SafeTensorsIndex OpenSingle(string path)
    {
        var file = SafeTensorsFile.Open(path);
        var tensors = file.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return new SafeTensorsIndex(path, [file], [.. file.Names], tensors, new Dictionary<string, string>(file.Metadata, StringComparer.Ordinal));
    }

    private static SafeTensorsIndex OpenIndex(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > MaxIndexBytes)
        {
            throw new SkimFormatException(path, null, $"index is {length} bytes, more than the {MaxIndexBytes}-byte limit");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, null, $"invalid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var weightMap) || weightMap.ValueKind != JsonValueKind.Object)
            {
                throw new SkimFormatException(path, "key 'weight_map'", "expected an object mapping tensor names to shard files");
            }
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object)
            {
                foreach (var item in meta.EnumerateObject())
                {
                    metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString()! : item.Value.GetRawText();
                }
            }
            var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
            var shardsByName = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            var names = new List<string>();
            var tensors = new Dictionary<string, RawTensor>(StringComparer.Ordinal);
            try
            {
                foreach (var entry in weightMap.EnumerateObject())
                {
                    var where = $"weight_map['{entry.Name}']";
                    if (entry.Value.ValueKind != JsonValueKind.String)
                    {
                        throw new SkimFormatException(path, where, $"expected a shard file name, found {entry.Value.GetRawText()}");
                    }
                    var shardName = entry.Value.GetString()!;
                    // Shards must sit beside the index: a name with a folder part could read any file on the machine.
                    if (shardName.Length == 0 || shardName != System.IO.Path.GetFileName(shardName) || shardName is "." or "..")
                    {
                        throw new SkimFormatException(path, where, $"shard '{shardName}' is not a plain file name in the index's folder");
                    }
                    if (!shardsByName.TryGetValue(shardName, out var shard))
                    {
                        var shardPath = System.IO.Path.Combine(folder, shardName);
                        if (!File.Exists(shardPath))
                        {
                            throw new SkimFormatException(path, where, $"shard file '{shardName}' does not exist");
                        }
                        shard = SafeTensorsFile.Open(shardPath);
                        shardsByName[shardName] = shard;
                    }
                    if (!shard.TryGetValue(entry.Name, out var tensor))
                    {
                        throw new SkimFormatException(path, where, $"shard '{shardName}' has no tensor named '{entry.Name}'");
                    }
                    if (tensors.TryAdd(entry.Name, tensor))
                    {
                        names.Add(entry.Name);
                    }
                }
            }
            catch
            {
                foreach (var shard in shardsByName.Values)
                {
                    shard.Dispose();
                }
                throw;
            }
            return new SafeTensorsIndex(path, [.. shardsByName.Values], names, tensors, metadata);
        }
    }
}
