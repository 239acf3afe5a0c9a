using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Skim.Core.Formats.HfConfig;

/// <summary>
/// A Hugging Face <c>config.json</c> (or one of its nested objects, such as <c>rope_scaling</c>)
/// with typed getters, deserialisation into a config record, and <see cref="Serialize{T}"/> for
/// writing one. A missing key falls back to the caller's default; a value of the wrong type is a
/// one-line error naming the file, the key, the expected type and the value found.
/// </summary>
public sealed class HfConfigFile
{
    /// <summary>The file name Hugging Face checkpoints use.</summary>
    public const string FileName = "config.json";

    private const long MaxBytes = 64L << 20;

    private static readonly JsonSerializerOptions s_writeOptions = new()
    {
        WriteIndented = true,
        // Absent rather than null: some transformers versions test whether "quantization_config"
        // is present, not whether it is null, and would treat the model as quantised.
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly string _keyPrefix;

    private HfConfigFile(string path, JsonElement root, string keyPrefix)
    {
        Path = path;
        Root = root;
        _keyPrefix = keyPrefix;
    }

    /// <summary>Gets the file the configuration was read from.</summary>
    public string Path { get; }

    /// <summary>Gets the JSON object (a detached copy that stays valid for the lifetime of this instance).</summary>
    public JsonElement Root { get; }

    /// <summary>Gets the names of the keys of this object, in file order.</summary>
    public IReadOnlyList<string> Keys => [.. Root.EnumerateObject().Select(p => p.Name)];

    /// <summary>
    /// Reads <paramref name="path"/>: a <c>config.json</c> file, or a checkpoint folder holding one.
    /// </summary>
    /// <exception cref="SkimFormatException">The file is missing, too large, not JSON, or not a JSON object.</exception>
    public static HfConfigFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = Directory.Exists(path) ? System.IO.Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
        {
            var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file)) ?? file;
            var name = System.IO.Path.GetFileName(file);
            throw new SkimFormatException(folder, null, Directory.Exists(folder) ? $"no {name} in this folder" : $"folder does not exist (looked for {name})");
        }
        var length = new FileInfo(file).Length;
        if (length > MaxBytes)
        {
            throw new SkimFormatException(file, null, $"{length} bytes is more than the {MaxBytes}-byte limit for a model configuration");
        }
        return Parse(File.ReadAllText(file), file);
    }

    /// <summary>Parses configuration text; <paramref name="path"/> is used in error messages.</summary>
    /// <exception cref="SkimFormatException">The text is not a JSON object.</exception>
    public static HfConfigFile Parse(string json, string path = FileName)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, $"line {e.LineNumber + 1}", $"invalid JSON: {FirstSentence(e.Message)}");
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new SkimFormatException(path, null, $"expected a JSON object, found {Describe(root)}");
        }
        return new HfConfigFile(path, root, "");
    }

    /// <summary>
    /// Writes a config record (properties carrying <c>[JsonPropertyName]</c>) as <c>config.json</c>
    /// text that HF's <c>from_pretrained</c> reads: indented like <c>save_pretrained</c>, null values left out.
    /// </summary>
    public static string Serialize<T>(T config) => JsonSerializer.Serialize(config, s_writeOptions);

    /// <summary>Tells whether the key is present with a non-null value.</summary>
    public bool Contains(string key) => Find(key) is not null;

    /// <summary>Gets a required 32-bit integer.</summary>
    /// <exception cref="SkimFormatException">The key is missing or its value is not an integer in range.</exception>
    public int GetInt32(string key) => ReadInt32(key, Require(key));

    /// <summary>Gets a 32-bit integer, or <paramref name="defaultValue"/> when the key is missing or null.</summary>
    public int GetInt32(string key, int defaultValue) => Find(key) is { } value ? ReadInt32(key, value) : defaultValue;

    /// <summary>Gets a 32-bit integer, or null when the key is missing or null.</summary>
    public int? GetInt32OrNull(string key) => Find(key) is { } value ? ReadInt32(key, value) : null;

    /// <summary>Gets a required 64-bit integer.</summary>
    public long GetInt64(string key) => ReadInt64(key, Require(key));

    /// <summary>Gets a 64-bit integer, or <paramref name="defaultValue"/> when the key is missing or null.</summary>
    public long GetInt64(string key, long defaultValue) => Find(key) is { } value ? ReadInt64(key, value) : defaultValue;

    /// <summary>Gets a required number.</summary>
    public double GetDouble(string key) => ReadDouble(key, Require(key));

    /// <summary>Gets a number, or <paramref name="defaultValue"/> when the key is missing or null.</summary>
    public double GetDouble(string key, double defaultValue) => Find(key) is { } value ? ReadDouble(key, value) : defaultValue;

    /// <summary>Gets a number, or null when the key is missing or null.</summary>
    public double? GetDoubleOrNull(string key) => Find(key) is { } value ? ReadDouble(key, value) : null;

    /// <summary>Gets a required boolean.</summary>
    public bool GetBoolean(string key) => ReadBoolean(key, Require(key));

    /// <summary>Gets a boolean, or <paramref name="defaultValue"/> when the key is missing or null.</summary>
    public bool GetBoolean(string key, bool defaultValue) => Find(key) is { } value ? ReadBoolean(key, value) : defaultValue;

    /// <summary>Gets a required string.</summary>
    public string GetString(string key) => ReadString(key, Require(key));

    /// <summary>Gets a string, or <paramref name="defaultValue"/> when the key is missing or null.</summary>
    public string GetString(string key, string defaultValue) => Find(key) is { } value ? ReadString(key, value) : defaultValue;

    /// <summary>Gets a string, or null when the key is missing or null.</summary>
    public string? GetStringOrNull(string key) => Find(key) is { } value ? ReadString(key, value) : null;

    /// <summary>Gets an array of strings (e.g. <c>architectures</c>), or an empty list when the key is missing or null.</summary>
    public IReadOnlyList<string> GetStringArray(string key) =>
        ReadArray(key, "an array of strings", element => element.ValueKind == JsonValueKind.String ? element.GetString() : null);

    /// <summary>
    /// Gets an array of integers, or an empty list when the key is missing or null. A single integer
    /// is read as a one-element array, since HF fields such as <c>eos_token_id</c> hold either.
    /// </summary>
    public IReadOnlyList<int> GetInt32Array(string key)
    {
        if (Find(key) is { ValueKind: JsonValueKind.Number } single)
        {
            return [ReadInt32(key, single)];
        }
        return ReadArray<int?>(key, "an integer or an array of integers", element => element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var v) ? v : null)
            .Select(v => v!.Value).ToList();
    }

    /// <summary>Gets a nested object (e.g. <c>rope_scaling</c>) as a configuration, or null when the key is missing or null.</summary>
    /// <exception cref="SkimFormatException">The value is not an object.</exception>
    public HfConfigFile? GetSection(string key)
    {
        if (Find(key) is not { } value)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Mismatch(key, "an object", value);
        }
        return new HfConfigFile(Path, value, FullKey(key) + ".");
    }

    /// <summary>
    /// Deserialises the object into <typeparamref name="T"/> (a record whose properties carry
    /// <c>[JsonPropertyName("hidden_size")]</c>); type mismatches name the file and the JSON path.
    /// </summary>
    /// <exception cref="SkimFormatException">A value does not fit its property.</exception>
    public T Deserialize<T>(JsonSerializerOptions? options = null)
    {
        try
        {
            return Root.Deserialize<T>(options) ?? throw new SkimFormatException(Path, null, $"expected an object for {typeof(T).Name}, found null");
        }
        catch (JsonException e)
        {
            var location = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? null : $"key '{_keyPrefix}{e.Path.TrimStart('$', '.')}'";
            throw new SkimFormatException(Path, location, $"does not fit {typeof(T).Name}: {FirstSentence(e.Message)}");
        }
    }

    private JsonElement? Find(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Root.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }

    private JsonElement Require(string key) =>
        Find(key) ?? throw new SkimFormatException(Path, $"key '{FullKey(key)}'", "is required but missing");

    private int ReadInt32(string key, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var result) ? result : throw Mismatch(key, "a 32-bit integer", value);

    private long ReadInt64(string key, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var result) ? result : throw Mismatch(key, "an integer", value);

    private double ReadDouble(string key, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var result) && double.IsFinite(result) ? result : throw Mismatch(key, "a number", value);

    private bool ReadBoolean(string key, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Mismatch(key, "true or false", value),
    };

    private string ReadString(string key, JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Mismatch(key, "a string", value);

    private List<TItem> ReadArray<TItem>(string key, string expected, Func<JsonElement, TItem?> read)
    {
        if (Find(key) is not { } value)
        {
            return [];
        }
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Mismatch(key, expected, value);
        }
        var result = new List<TItem>();
        foreach (var element in value.EnumerateArray())
        {
            result.Add(read(element) ?? throw Mismatch(key, expected, value));
        }
        return result;
    }

    private SkimFormatException Mismatch(string key, string expected, JsonElement found) =>
        new(Path, $"key '{FullKey(key)}'", $"expected {expected}, found {Describe(found)}");

    private string FullKey(string key) => _keyPrefix + key;

    private static string Describe(JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length <= 60 ? text : string.Create(CultureInfo.InvariantCulture, $"{text[..57]}...");
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message.TrimEnd('.') : message[..end];
    }
}
