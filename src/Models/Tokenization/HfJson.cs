using System.Text.Json;
using Skim.Core;

namespace Skim.Models.Tokenization;

/// <summary>Small readers for the JSON files of Hugging Face tokenizers, with errors that name file and key.</summary>
internal static class HfJson
{
    /// <summary>Parses <paramref name="path"/>, turning a syntax error into a one-line format error.</summary>
    public static JsonDocument Parse(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, e.LineNumber is { } line ? $"line {line + 1}" : null, $"not valid JSON ({e.Message.Split('.')[0]})");
        }
    }

    /// <summary>Reads a <c>vocab.json</c>: one object mapping token → non-negative id.</summary>
    public static Dictionary<string, int> ReadVocabulary(string path)
    {
        using var document = Parse(path);
        return ReadVocabulary(document.RootElement, path, "the top level");
    }

    /// <summary>Reads a token → id object found at <paramref name="where"/> in <paramref name="path"/>.</summary>
    public static Dictionary<string, int> ReadVocabulary(JsonElement element, string path, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new SkimFormatException(path, where, $"expected an object of token ids, found {element.ValueKind}");
        }
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out var id) || id < 0)
            {
                throw new SkimFormatException(path, $"token '{property.Name}'", $"expected a non-negative integer id, found {property.Value}");
            }
            vocabulary[property.Name] = id;
        }
        return vocabulary;
    }

    /// <summary>Reads a token that is either a string or an object with <c>content</c> (HF's AddedToken form).</summary>
    public static string? TokenText(JsonElement parent, string key) =>
        parent.TryGetProperty(key, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => null,
        } : null;

    /// <summary>Reads a boolean, or null when absent or null.</summary>
    public static bool? Bool(JsonElement parent, string key) =>
        parent.TryGetProperty(key, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    /// <summary>Reads an integer, or the first of an array of integers (config.json's <c>eos_token_id</c> may be a list).</summary>
    public static int? Int(JsonElement parent, string key)
    {
        if (!parent.TryGetProperty(key, out var value))
        {
            return null;
        }
        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0)
        {
            value = value[0];
        }
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : null;
    }

    /// <summary>Reads a string, or null.</summary>
    public static string? String(JsonElement parent, string key) =>
        parent.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
