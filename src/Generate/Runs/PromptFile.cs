using System.Text.Json;
using System.Text.Json.Nodes;
using Skim.Core;

namespace Skim.Generate.Runs;

/// <summary>
/// A prompts file in JSONL: each non-blank line a JSON string, or an object with a string member
/// <c>"prompt"</c> (other members are ignored, so step-0's prompt records can be passed as they are).
/// </summary>
public static class PromptFile
{
    /// <summary>Reads every prompt of <paramref name="path"/> in file order.</summary>
    /// <exception cref="SkimFormatException">The file is missing, or a line is neither form (the message names the line).</exception>
    public static List<string> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "no such prompts file");
        }
        var prompts = new List<string>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(line);
            }
            catch (JsonException e)
            {
                throw new SkimFormatException(path, $"line {lineNumber}", $"not valid JSON: {e.Message.Split('\n')[0]}");
            }
            var prompt = node switch
            {
                JsonValue value when value.TryGetValue<string>(out var text) => text,
                JsonObject obj when obj["prompt"] is JsonValue member && member.TryGetValue<string>(out var text) => text,
                _ => throw new SkimFormatException(path, $"line {lineNumber}", "expected a JSON string or an object with a string member \"prompt\""),
            };
            prompts.Add(prompt);
        }
        return prompts;
    }
}
