using System.Text.Json;
using Skim.Core;
using Skim.Models.Tokenization;

namespace Skim.Distill.FineTuning;

/// <summary>One prompt → response pair as the SFT files hold it (litgpt's alpaca fields).</summary>
/// <param name="Instruction">The full prompt text.</param>
/// <param name="Input">Extra input appended to the prompt after a newline when non-empty.</param>
/// <param name="Output">The response the model learns to write.</param>
public sealed record SftRecord(string Instruction, string Input, string Output)
{
    /// <summary>Gets the prompt text: the instruction, plus a newline and the input when the input is not empty.</summary>
    public string Prompt => Input.Length == 0 ? Instruction : Instruction + "\n" + Input;
}

/// <summary>A tokenized pair: the prompt ids (with the tokenizer's prefix, e.g. BOS) followed by the response ids and EOS.</summary>
/// <param name="Ids">Prompt then response token ids.</param>
/// <param name="PromptLength">How many leading ids are prompt (not trained on).</param>
public sealed record SftExample(int[] Ids, int PromptLength)
{
    /// <summary>Gets the number of ids.</summary>
    public int Length => Ids.Length;

    /// <summary>Gets the number of ids the loss covers (response and EOS).</summary>
    public int ResponseLength => Ids.Length - PromptLength;
}

/// <summary>Tokenized SFT pairs and how many were dropped for length.</summary>
/// <param name="Examples">The pairs kept, in file order.</param>
/// <param name="TooLong">Pairs longer than the maximum sequence length, dropped.</param>
public sealed record SftExampleSet(IReadOnlyList<SftExample> Examples, int TooLong)
{
    /// <summary>Gets the ids over every example.</summary>
    public long Tokens => Examples.Sum(e => (long)e.Length);
}

/// <summary>Reads <c>train.json</c> / <c>val.json</c> and tokenizes them for fine-tuning.</summary>
public static class SftExamples
{
    /// <summary>Reads a JSON array of <c>{"instruction", "input", "output"}</c> objects.</summary>
    /// <exception cref="SkimFormatException">The file is missing, is not a JSON array of such objects, or a record lacks instruction or output.</exception>
    public static IReadOnlyList<SftRecord> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "file not found (the SFT folder holds train.json and val.json, written by step-0)");
        }
        JsonDocument document;
        try
        {
            using var stream = File.OpenRead(path);
            document = JsonDocument.Parse(stream);
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, e.LineNumber is { } line ? $"line {line + 1}" : null, $"not valid JSON: {e.Message}");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new SkimFormatException(path, null, $"expected a JSON array of {{\"instruction\", \"input\", \"output\"}} objects, found a {document.RootElement.ValueKind}");
            }
            var records = new List<SftRecord>();
            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                var location = $"record {index + 1}";
                if (element.ValueKind != JsonValueKind.Object)
                {
                    throw new SkimFormatException(path, location, $"expected an object, found a {element.ValueKind}");
                }
                records.Add(new SftRecord(
                    Field(element, "instruction", path, location, required: true),
                    Field(element, "input", path, location, required: false),
                    Field(element, "output", path, location, required: true)));
                index++;
            }
            return records;
        }
    }

    /// <summary>
    /// Tokenizes <paramref name="records"/>: prompt ids are the tokenizer's prefix (BOS for Llama)
    /// plus the prompt text, response ids the output text plus <paramref name="eosId"/>. The two are
    /// tokenized apart, so the prompt's ids are exactly those a generator is given for the same text.
    /// </summary>
    public static SftExampleSet Tokenize(IReadOnlyList<SftRecord> records, ITextTokenizer tokenizer, int eosId, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var examples = new List<SftExample>(records.Count);
        var tooLong = 0;
        foreach (var record in records)
        {
            var prompt = tokenizer.PrefixIds.Concat(tokenizer.EncodeWithoutSpecialTokens(record.Prompt)).ToArray();
            var response = tokenizer.EncodeWithoutSpecialTokens(record.Output);
            var length = prompt.Length + response.Count + 1;
            if (length > maxLength || prompt.Length == 0)
            {
                // A prompt of no ids leaves nothing to predict the first response token from.
                tooLong += length > maxLength ? 1 : 0;
                continue;
            }
            var ids = new int[length];
            prompt.CopyTo(ids, 0);
            for (var i = 0; i < response.Count; i++)
            {
                ids[prompt.Length + i] = response[i];
            }
            ids[^1] = eosId;
            examples.Add(new SftExample(ids, prompt.Length));
        }
        return new SftExampleSet(examples, tooLong);
    }

    private static string Field(JsonElement element, string name, string path, string location, bool required)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required
                ? throw new SkimFormatException(path, location, $"missing \"{name}\" (records hold instruction, input and output)")
                : "";
        }
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new SkimFormatException(path, location, $"\"{name}\": expected a string, found a {value.ValueKind}");
    }
}
