using System.Text;
using Skim.Core;

namespace Skim.Distill.Prompts;

/// <summary>
/// A prompt template: plain text with <c>{name}</c> fields (names of letters, digits and
/// underscores) and <c>{{</c> / <c>}}</c> for literal braces, as in Python's <c>str.format</c>, so
/// the templates SKIM ships read the same in both worlds. Values for fields the template does not
/// use are ignored (one metadata record can feed several templates); a field the template uses but
/// the values lack is an error naming the template file and the field.
/// </summary>
public sealed class PromptTemplate
{
    // Parsed once: literal runs and field names alternate, so rendering is one pass with no scanning.
    private readonly string[] _literals;
    private readonly string[] _fields;

    private PromptTemplate(string source, string[] literals, string[] fields)
    {
        Source = source;
        _literals = literals;
        _fields = fields;
        Placeholders = fields.Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Gets the file the template came from (or the name given to <see cref="Parse"/>), used in error messages.</summary>
    public string Source { get; }

    /// <summary>Gets the distinct field names, in order of first use.</summary>
    public IReadOnlyList<string> Placeholders { get; }

    /// <summary>Reads and parses the template file at <paramref name="path"/> (UTF-8).</summary>
    /// <exception cref="SkimFormatException">A brace is unbalanced or a field name is not an identifier.</exception>
    /// <exception cref="SkimConfigException">The file does not exist.</exception>
    public static PromptTemplate Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new SkimConfigException($"{path}: prompt template file not found");
        }
        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>Parses template text; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="SkimFormatException">A brace is unbalanced or a field name is not an identifier.</exception>
    public static PromptTemplate Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        var literals = new List<string>();
        var fields = new List<string>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '{' && i + 1 < text.Length && text[i + 1] == '{')
            {
                literal.Append('{');
                i += 2;
            }
            else if (c == '}' && i + 1 < text.Length && text[i + 1] == '}')
            {
                literal.Append('}');
                i += 2;
            }
            else if (c == '}')
            {
                throw new SkimFormatException(source, Where(text, i), "expected '}}' for a literal brace, found a single '}'");
            }
            else if (c == '{')
            {
                var close = text.IndexOf('}', i + 1);
                if (close < 0)
                {
                    throw new SkimFormatException(source, Where(text, i), "expected a field '{name}' or '{{' for a literal brace, found '{' with no closing '}'");
                }
                var name = text[(i + 1)..close];
                if (!IsIdentifier(name))
                {
                    throw new SkimFormatException(source, Where(text, i), $"expected a field name of letters, digits and '_', found '{{{Shorten(name)}}}' (write '{{{{' for a literal brace)");
                }
                literals.Add(literal.ToString());
                literal.Clear();
                fields.Add(name);
                i = close + 1;
            }
            else
            {
                literal.Append(c);
                i++;
            }
        }
        literals.Add(literal.ToString());
        return new PromptTemplate(source, [.. literals], [.. fields]);
    }

    /// <summary>
    /// Fills every field from <paramref name="values"/>; extra values are ignored. Each value is
    /// trimmed and cut to <see cref="PromptTemplateOptions.MaxFieldLength"/> characters first.
    /// </summary>
    /// <exception cref="SkimConfigException">A field the template uses has no value.</exception>
    public string Render(IReadOnlyDictionary<string, string> values, PromptTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        options ??= new PromptTemplateOptions();
        options.Validate();
        var result = new StringBuilder(_literals.Sum(l => l.Length));
        for (var k = 0; k < _fields.Length; k++)
        {
            result.Append(_literals[k]);
            if (!values.TryGetValue(_fields[k], out var value) || value is null)
            {
                var given = values.Count == 0 ? "none" : string.Join(", ", values.Keys.Order(StringComparer.Ordinal));
                throw new SkimConfigException($"{Source}: placeholder '{{{_fields[k]}}}' has no value (values given: {given})");
            }
            result.Append(Fit(value, options));
        }
        result.Append(_literals[^1]);
        return result.ToString();
    }

    private static string Fit(string value, PromptTemplateOptions options)
    {
        var span = options.TrimWhiteSpace ? value.AsSpan().Trim() : value.AsSpan();
        if (options.MaxFieldLength is { } max && span.Length > max)
        {
            // Cutting between the halves of a surrogate pair would leave an invalid UTF-16 string.
            var cut = char.IsHighSurrogate(span[max - 1]) ? max - 1 : max;
            span = span[..cut];
            if (options.TrimWhiteSpace)
            {
                span = span.TrimEnd();
            }
        }
        return span.ToString();
    }

    private static bool IsIdentifier(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }
        return true;
    }

    private static string Where(string text, int index)
    {
        var line = 1;
        var lineStart = 0;
        for (var k = 0; k < index; k++)
        {
            if (text[k] == '\n')
            {
                line++;
                lineStart = k + 1;
            }
        }
        return $"line {line}, column {index - lineStart + 1}";
    }

    private static string Shorten(string name)
    {
        var flat = name.ReplaceLineEndings(" ");
        return flat.Length <= 40 ? flat : flat[..40] + "...";
    }
}
