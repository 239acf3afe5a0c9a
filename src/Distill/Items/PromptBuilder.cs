using Skim.Core;
using Skim.Distill.Prompts;
using Skim.Models.Tokenization;

namespace Skim.Distill.Items;

/// <summary>
/// Renders the prompt of one item: each template placeholder is filled from the item field it maps
/// to, and each value is cut to a token budget first. Step-0 (the teacher's prompts, the SFT
/// instructions) and step-1 (the fine-tuned SLM's prompts) both render through this class, so the
/// SLM is asked at generation time exactly what it was trained on.
/// </summary>
/// <remarks>
/// Cutting: with the SLM's tokenizer, a value keeps its longest prefix of at most
/// <c>maxPromptTokens</c> tokens (a prefix of the original text, so nothing is re-spelled by
/// decoding); without one, at most <see cref="CharactersPerToken"/> × <c>maxPromptTokens</c>
/// characters (an English BPE token averages about four characters).
/// </remarks>
public sealed class PromptBuilder
{
    /// <summary>The characters a token is taken to cover when no tokenizer is given.</summary>
    public const int CharactersPerToken = 4;

    private readonly PromptTemplate _template;
    private readonly IReadOnlyDictionary<string, string> _fieldOf;
    private readonly int _maxPromptTokens;
    private readonly ITextTokenizer? _tokenizer;
    private readonly PromptTemplateOptions _renderOptions;

    /// <summary>Creates a builder; the field map is checked against the template here (see <see cref="ResolveFields"/>).</summary>
    /// <param name="template">The prompt template.</param>
    /// <param name="fieldMap">Placeholder → item field; placeholders not in it map to the field of the same name. Null maps every placeholder to itself.</param>
    /// <param name="maxPromptTokens">The most tokens one field value may keep.</param>
    /// <param name="tokenizer">The SLM's tokenizer, or null to cut by characters.</param>
    public PromptBuilder(PromptTemplate template, IReadOnlyDictionary<string, string>? fieldMap, int maxPromptTokens, ITextTokenizer? tokenizer)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPromptTokens, 1);
        _template = template;
        _fieldOf = ResolveFields(template, fieldMap);
        _maxPromptTokens = maxPromptTokens;
        _tokenizer = tokenizer;
        // Values are cut here by tokens; the template itself only trims white space.
        _renderOptions = new PromptTemplateOptions { MaxFieldLength = null, TrimWhiteSpace = true };
    }

    /// <summary>Gets the template.</summary>
    public PromptTemplate Template => _template;

    /// <summary>Gets placeholder → item field, for every placeholder of the template.</summary>
    public IReadOnlyDictionary<string, string> FieldMap => _fieldOf;

    /// <summary>Renders the prompt of <paramref name="item"/> with a one-off builder (same result as <see cref="Render(PromptItem)"/>).</summary>
    public static string Render(PromptTemplate template, PromptItem item, IReadOnlyDictionary<string, string>? fieldMap, int maxPromptTokens, ITextTokenizer? tokenizer) =>
        new PromptBuilder(template, fieldMap, maxPromptTokens, tokenizer).Render(item);

    /// <summary>
    /// Maps every placeholder of <paramref name="template"/> to an item field
    /// (<see cref="PromptItems.FieldNames"/>): explicitly through <paramref name="fieldMap"/>, else
    /// to the field of the same name.
    /// </summary>
    /// <exception cref="SkimConfigException">The map names a placeholder the template lacks, or a placeholder maps to no known field.</exception>
    public static IReadOnlyDictionary<string, string> ResolveFields(PromptTemplate template, IReadOnlyDictionary<string, string>? fieldMap)
    {
        ArgumentNullException.ThrowIfNull(template);
        var known = string.Join(", ", PromptItems.FieldNames);
        if (fieldMap is not null)
        {
            foreach (var (placeholder, field) in fieldMap)
            {
                if (!template.Placeholders.Contains(placeholder, StringComparer.Ordinal))
                {
                    throw new SkimConfigException($"fields: placeholder '{{{placeholder}}}' (mapped to field '{field}') is not in {template.Source} (its placeholders: {string.Join(", ", template.Placeholders)})");
                }
            }
        }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var placeholder in template.Placeholders)
        {
            var field = fieldMap is not null && fieldMap.TryGetValue(placeholder, out var mapped) ? mapped : placeholder;
            if (!PromptItems.FieldNames.Contains(field, StringComparer.Ordinal))
            {
                throw new SkimConfigException($"fields: placeholder '{{{placeholder}}}' of {template.Source} maps to field '{field}', which items do not have (fields: {known}; map it with fields: {{{placeholder}: FIELD}})");
            }
            result[placeholder] = field;
        }
        return result;
    }

    /// <summary>Renders the prompt of <paramref name="item"/>.</summary>
    public string Render(PromptItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var values = new Dictionary<string, string>(_fieldOf.Count, StringComparer.Ordinal);
        foreach (var (placeholder, field) in _fieldOf)
        {
            values[placeholder] = Fit(item.Fields.TryGetValue(field, out var value) ? value ?? "" : "");
        }
        return _template.Render(values, _renderOptions);
    }

    /// <summary>Cuts <paramref name="value"/> (trimmed) to the token budget.</summary>
    public string Fit(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = value.Trim();
        if (_tokenizer is null)
        {
            return CutAt(text, (long)_maxPromptTokens * CharactersPerToken);
        }
        if (text.Length <= _maxPromptTokens || Count(text) <= _maxPromptTokens)
        {
            return text;
        }
        // The longest prefix within budget, by bisection on its length: token counts grow with the
        // prefix (up to merges at the cut, which a step of one character cannot undo by much).
        int low = 0, high = text.Length;
        while (low < high)
        {
            var mid = (low + high + 1) / 2;
            if (Count(CutAt(text, mid)) <= _maxPromptTokens)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }
        return CutAt(text, low).TrimEnd();
    }

    private int Count(string text) => _tokenizer!.EncodeWithoutSpecialTokens(text).Count;

    private static string CutAt(string text, long length)
    {
        if (text.Length <= length)
        {
            return text;
        }
        var cut = (int)length;
        // Cutting between the halves of a surrogate pair would leave an invalid UTF-16 string.
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1]))
        {
            cut--;
        }
        return text[..cut].TrimEnd();
    }
}
