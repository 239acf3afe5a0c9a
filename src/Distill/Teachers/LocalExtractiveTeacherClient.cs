using System.Text;
using Skim.Distill.Items;

namespace Skim.Distill.Teachers;

/// <summary>
/// A stand-in teacher with no LLM, for demos and tests on machines without one: it answers with
/// short lower-case phrases taken from the item's own metadata (its title, then runs of three
/// content words from its text), one per line, leaving out the known queries. Deterministic, free
/// and instant; the phrases are extractive, so an SLM fine-tuned on them learns the answer format,
/// not world knowledge. It is chosen only by name, never as a fallback for a configured endpoint.
/// </summary>
public sealed class LocalExtractiveTeacherClient : ITeacherClient
{
    /// <summary>The model name recorded for its answers.</summary>
    public const string ModelName = "local-extractive";

    private const int MaxQueries = 10;
    private const int PhraseWords = 3;
    private const int MaxTitleWords = 8;

    private static readonly HashSet<string> s_stopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "for", "from", "has", "have", "he", "her", "his",
        "in", "into", "is", "it", "its", "of", "on", "or", "she", "that", "the", "their", "them", "there", "these", "they", "this",
        "to", "was", "were", "which", "who", "will", "with", "would", "you", "your", "also", "not", "than", "then", "so", "such",
    };

    private readonly Func<string, PromptItem?> _itemOf;

    /// <summary>Creates the teacher.</summary>
    /// <param name="itemOf">Finds the item a rendered prompt was made from (null: the prompt text itself is mined).</param>
    public LocalExtractiveTeacherClient(Func<string, PromptItem?> itemOf)
    {
        ArgumentNullException.ThrowIfNull(itemOf);
        _itemOf = itemOf;
    }

    /// <inheritdoc/>
    public string Kind => TeacherClientOptions.LocalExtractive;

    /// <inheritdoc/>
    public string Model => ModelName;

    /// <inheritdoc/>
    public Task<TeacherAnswer> CompleteAsync(string prompt, TeacherSettings settings, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(settings);
        ct.ThrowIfCancellationRequested();
        var item = _itemOf(prompt);
        var queries = item is null ? Queries("", prompt, "") : Queries(Field(item, PromptItems.TitleField), Field(item, PromptItems.TextField), Field(item, PromptItems.KnownQueriesField));
        var texts = new List<string>(settings.N);
        for (var k = 0; k < settings.N; k++)
        {
            // Several completions rotate the list, so they differ as sampled answers would.
            var rotated = queries.Count == 0 ? queries : [.. queries.Skip(k % queries.Count), .. queries.Take(k % queries.Count)];
            texts.Add(string.Join('\n', rotated));
        }
        return Task.FromResult(new TeacherAnswer(texts, TeacherAnswer.Stop, Words(prompt).Count, texts.Sum(t => (long)Words(t).Count)));
    }

    /// <summary>The phrases answered for an item with <paramref name="title"/>, <paramref name="text"/> and <paramref name="knownQueries"/> (one per line).</summary>
    public static IReadOnlyList<string> Queries(string title, string text, string knownQueries)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(knownQueries);
        var known = new HashSet<string>(knownQueries.Split('\n').Select(q => string.Join(' ', Words(q))), StringComparer.Ordinal);
        var result = new List<string>(MaxQueries);
        void Add(string phrase)
        {
            if (phrase.Length > 0 && result.Count < MaxQueries && !known.Contains(phrase) && !result.Contains(phrase))
            {
                result.Add(phrase);
            }
        }
        Add(string.Join(' ', Words(title).Take(MaxTitleWords)));
        var content = Words(text).Where(w => !s_stopWords.Contains(w) && w.Length > 1).ToList();
        for (var start = 0; start < content.Count && result.Count < MaxQueries; start += PhraseWords)
        {
            Add(string.Join(' ', content.Skip(start).Take(PhraseWords)));
        }
        return result;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        // Nothing held.
    }

    private static string Field(PromptItem item, string name) => item.Fields.TryGetValue(name, out var value) ? value ?? "" : "";

    private static List<string> Words(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                word.Append(char.ToLowerInvariant(c));
            }
            else if (word.Length > 0)
            {
                words.Add(word.ToString());
                word.Clear();
            }
        }
        if (word.Length > 0)
        {
            words.Add(word.ToString());
        }
        return words;
    }
}
