using System.Text.Json;
using Skim.Core;

namespace Skim.Models.Encoders;

/// <summary>Reads a Hugging Face <c>config.json</c> into a config record, turning every JSON problem into one line that names the file and key.</summary>
internal static class ConfigJson
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        // Absent rather than null: some transformers versions test whether "quantization_config"
        // is present, not whether it is null, and would treat the model as quantised.
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Gets the options used to write config.json files (indented, like HF's save_pretrained).</summary>
    public static JsonSerializerOptions Options => s_options;

    /// <summary>Reads the text of <paramref name="path"/>, failing with a clear message when it is absent.</summary>
    public static JsonDocument ReadDocument(string path)
    {
        if (!File.Exists(path))
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            throw new SkimFormatException(folder ?? path, null, $"no {Path.GetFileName(path)} (a model folder needs config.json beside its weights)");
        }
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, $"line {e.LineNumber + 1}", $"not valid JSON: {FirstLine(e.Message)}");
        }
    }

    /// <summary>Deserialises <paramref name="document"/> into <typeparamref name="T"/>; type errors name the key.</summary>
    public static T Deserialize<T>(JsonDocument document, string path)
    {
        try
        {
            return document.Deserialize<T>(s_options) ?? throw new SkimFormatException(path, null, "expected a JSON object, found null");
        }
        catch (JsonException e)
        {
            var key = string.IsNullOrEmpty(e.Path) ? null : $"key '{e.Path.TrimStart('$', '.')}'";
            throw new SkimFormatException(path, key, $"wrong value type: {FirstLine(e.Message)}");
        }
    }

    /// <summary>Gets a string member of the root object, or null.</summary>
    public static string? GetString(JsonDocument document, string key) =>
        document.RootElement.ValueKind == JsonValueKind.Object
        && document.RootElement.TryGetProperty(key, out var value)
        && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
