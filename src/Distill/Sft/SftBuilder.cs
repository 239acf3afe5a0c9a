using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Skim.Core.IO;
using Skim.Distill.Teachers;

namespace Skim.Distill.Sft;

/// <summary>A prompt with one of its teacher responses, before cleaning.</summary>
/// <param name="Prompt">The rendered prompt.</param>
/// <param name="Response">One completion.</param>
/// <param name="FinishReason">Why the completion ended (stop, length, content_filter).</param>
/// <param name="KnownQueries">The item's known queries (one per line), which a response must not merely repeat; empty when none.</param>
public sealed record SftCandidate(string Prompt, string Response, string? FinishReason, string KnownQueries = "");

/// <summary>Options of <see cref="SftBuilder.Build"/>.</summary>
public sealed record SftOptions
{
    /// <summary>Gets the share of records held out for validation. Defaults to 0.05.</summary>
    public double ValidationFraction { get; init; } = 0.05;

    /// <summary>Gets the seed of the train/validation split. Defaults to 0.</summary>
    public long Seed { get; init; }
}

/// <summary>The cleaned and split SFT data.</summary>
/// <param name="Train">Training records.</param>
/// <param name="Validation">Validation records.</param>
/// <param name="Dropped">Records dropped, by reason (empty, truncated, refusal, copies_input).</param>
public sealed record SftData(IReadOnlyList<SftExample> Train, IReadOnlyList<SftExample> Validation, IReadOnlyDictionary<string, int> Dropped)
{
    /// <summary>Gets the records kept.</summary>
    public int Kept => Train.Count + Validation.Count;
}

/// <summary>
/// Turns prompt/response pairs into SFT data: drops empty responses, responses cut by max_tokens
/// (finish reason <c>length</c>: a half-written list teaches the SLM to stop mid-query), refusals
/// (content filter, or an answer that opens like "I'm sorry, I can't ..."), and responses that copy
/// the input (the known queries verbatim, or a run of 40+ characters of the prompt); then splits
/// train/validation with a seed and writes <c>train.json</c> and <c>val.json</c> atomically.
/// </summary>
public static partial class SftBuilder
{
    /// <summary>Drop reason: empty response.</summary>
    public const string Empty = "empty";

    /// <summary>Drop reason: cut by max_tokens.</summary>
    public const string Truncated = "truncated";

    /// <summary>Drop reason: a refusal.</summary>
    public const string Refusal = "refusal";

    /// <summary>Drop reason: the response copies the input.</summary>
    public const string CopiesInput = "copies_input";

    /// <summary>The file of training records.</summary>
    public const string TrainFile = "train.json";

    /// <summary>The file of validation records.</summary>
    public const string ValidationFile = "val.json";

    private const int MinCopiedCharacters = 40;

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Cleans and splits <paramref name="candidates"/>.</summary>
    public static SftData Build(IEnumerable<SftCandidate> candidates, SftOptions options)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(options);
        var kept = new List<SftExample>();
        var dropped = new Dictionary<string, int>(StringComparer.Ordinal) { [Empty] = 0, [Truncated] = 0, [Refusal] = 0, [CopiesInput] = 0 };
        foreach (var candidate in candidates)
        {
            var reason = DropReason(candidate);
            if (reason is not null)
            {
                dropped[reason]++;
                continue;
            }
            kept.Add(new SftExample { Instruction = candidate.Prompt, Output = candidate.Response.Trim() });
        }
        // Seeded Fisher-Yates, then the first records are held out.
        var random = new Random(unchecked((int)options.Seed ^ (int)(options.Seed >> 32)));
        for (var i = kept.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (kept[i], kept[j]) = (kept[j], kept[i]);
        }
        var validation = kept.Count < 2 ? 0 : Math.Clamp((int)Math.Round(kept.Count * options.ValidationFraction), 1, kept.Count - 1);
        return new SftData(kept[validation..], kept[..validation], dropped);
    }

    /// <summary>Why <paramref name="candidate"/> is dropped, or null when it is kept.</summary>
    public static string? DropReason(SftCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var response = candidate.Response.Trim();
        if (candidate.FinishReason == TeacherAnswer.ContentFilter)
        {
            return Refusal;
        }
        if (response.Length == 0)
        {
            return Empty;
        }
        if (candidate.FinishReason == TeacherAnswer.Length)
        {
            return Truncated;
        }
        if (RefusalPattern().IsMatch(response))
        {
            return Refusal;
        }
        var flat = Normalize(response);
        var known = Normalize(candidate.KnownQueries);
        if ((known.Length > 0 && flat == known) || (flat.Length >= MinCopiedCharacters && Normalize(candidate.Prompt).Contains(flat, StringComparison.Ordinal)))
        {
            return CopiesInput;
        }
        return null;
    }

    /// <summary>Writes <c>train.json</c> and <c>val.json</c> (JSON arrays of alpaca records) into <paramref name="directory"/>, each atomically.</summary>
    public static void Write(SftData data, string directory)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, TrainFile), JsonSerializer.Serialize(data.Train, s_json) + "\n");
        AtomicFile.WriteAllText(Path.Combine(directory, ValidationFile), JsonSerializer.Serialize(data.Validation, s_json) + "\n");
    }

    /// <summary>Reads a file <see cref="Write"/> wrote.</summary>
    public static IReadOnlyList<SftExample> Read(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<List<SftExample>>(stream, s_json) ?? [];
    }

    private static string Normalize(string text)
    {
        var result = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = result.Length > 0;
                continue;
            }
            if (space)
            {
                result.Append(' ');
                space = false;
            }
            result.Append(char.ToLowerInvariant(c));
        }
        return result.ToString();
    }

    [GeneratedRegex(@"^\s*(i['’]m sorry|i am sorry|sorry, (but )?i|i cannot|i can['’]t|i can not|i['’]m unable|i am unable|i['’]m not able|i am not able|as an ai\b|i apologi[sz]e)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RefusalPattern();
}
