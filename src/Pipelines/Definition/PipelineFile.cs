using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Skim.Core;
using Skim.Core.Stages;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Skim.Pipelines.Definition;

/// <summary>
/// Reads a pipeline YAML file. Top-level keys: <c>name</c>, <c>vars</c> (text variables used as
/// <c>${name}</c> in any value), <c>report</c> (where <c>report.md</c> goes) and <c>stages</c> (a
/// mapping from stage name to its keys: <c>kind</c>, optional <c>provided</c>, and the stage's
/// options, whose keys are the options record's properties in snake_case, exactly as the stage's
/// <c>manifest.json</c> shows them). Every mistake is one <see cref="SkimConfigException"/> naming
/// the file, the line and what was expected (for an unknown key, the allowed keys).
/// </summary>
public static partial class PipelineFile
{
    private static readonly string[] s_topKeys = ["name", "vars", "report", "stages"];
    private static readonly string[] s_stageKeys = ["kind", "provided"];

    /// <summary>The way option keys are spelled in pipeline files and manifests.</summary>
    internal static readonly JsonNamingPolicy KeyNaming = Core.Manifests.OptionNaming.Instance;

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = KeyNaming,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower), new ParsableConverterFactory() },
    };

    /// <summary>Loads and checks <paramref name="path"/>.</summary>
    /// <param name="path">The YAML file.</param>
    /// <param name="sets"><c>--set</c> overrides: <c>name=value</c> sets a variable, <c>stage.key=value</c> a stage's option.</param>
    /// <param name="catalog">The stage kinds known (defaults to <see cref="StageCatalog.Default"/>).</param>
    /// <exception cref="SkimConfigException">The file is not a valid pipeline; the message names the line.</exception>
    public static PipelineDefinition Load(string path, IReadOnlyList<string>? sets = null, StageCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new SkimConfigException($"{path}: pipeline file not found");
        }
        return Parse(File.ReadAllText(path), path, sets, catalog);
    }

    /// <summary>Parses pipeline YAML <paramref name="text"/> (named <paramref name="source"/> in messages).</summary>
    public static PipelineDefinition Parse(string text, string source, IReadOnlyList<string>? sets = null, StageCatalog? catalog = null)
    {
        catalog ??= StageCatalog.Default;
        var file = new Reader(source);
        var root = file.Root(text);
        file.CheckKeys(root, s_topKeys, "pipeline");
        var (variables, stageSets) = SplitSets(sets ?? [], source);
        foreach (var (key, value) in file.Mapping(root, "vars", required: false))
        {
            var variable = file.Scalar(key, "vars key");
            variables.TryAdd(variable, file.Scalar(value, $"vars.{variable}"));
        }
        // Variables may use earlier variables.
        foreach (var key in variables.Keys.ToList())
        {
            variables[key] = Substitute(variables[key], variables, source, null);
        }
        var name = root.Children.TryGetValue(new YamlScalarNode("name"), out var nameNode)
            ? Substitute(file.Scalar(nameNode, "name"), variables, source, nameNode)
            : System.IO.Path.GetFileNameWithoutExtension(source);
        string? report = root.Children.TryGetValue(new YamlScalarNode("report"), out var reportNode)
            ? Substitute(file.Scalar(reportNode, "report"), variables, source, reportNode)
            : null;

        var stages = new List<PipelineStage>();
        var stagesNode = file.Mapping(root, "stages", required: true);
        if (stagesNode.Children.Count == 0)
        {
            throw file.Error(stagesNode, "stages: expected at least one stage");
        }
        foreach (var (keyNode, value) in stagesNode)
        {
            var stageName = file.Scalar(keyNode, "stage name");
            if (value is not YamlMappingNode body)
            {
                throw file.Error(value, $"stage '{stageName}': expected a mapping of keys (kind, options)");
            }
            stages.Add(file.Stage(stageName, body, variables, stageSets.GetValueOrDefault(stageName), catalog));
        }
        foreach (var unknown in stageSets.Keys.Where(k => stages.All(s => s.Name != k)))
        {
            throw new SkimConfigException($"--set {unknown}.…: no stage named '{unknown}' in {source}; stages: {string.Join(", ", stages.Select(s => s.Name))}");
        }
        return new PipelineDefinition(source, name, variables, report, stages);
    }

    private static (Dictionary<string, string> Variables, Dictionary<string, Dictionary<string, string>> Stages) SplitSets(IReadOnlyList<string> sets, string source)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        var stages = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var set in sets)
        {
            var equals = set.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new SkimConfigException($"--set '{set}': expected name=value or stage.key=value");
            }
            var key = set[..equals].Trim();
            var value = set[(equals + 1)..];
            var dot = key.IndexOf('.', StringComparison.Ordinal);
            if (dot < 0)
            {
                variables[key] = value;
            }
            else
            {
                if (!stages.TryGetValue(key[..dot], out var stage))
                {
                    stages[key[..dot]] = stage = new Dictionary<string, string>(StringComparer.Ordinal);
                }
                stage[key[(dot + 1)..]] = value;
            }
        }
        _ = source;
        return (variables, stages);
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")]
    private static partial Regex VariablePattern();

    private static string Substitute(string text, IReadOnlyDictionary<string, string> variables, string source, YamlNode? node) =>
        VariablePattern().Replace(text, match =>
        {
            var name = match.Groups[1].Value;
            if (variables.TryGetValue(name, out var value))
            {
                return value;
            }
            var where = node is null ? source : FormattableString.Invariant($"{source}:{node.Start.Line}");
            throw new SkimConfigException($"{where}: unknown variable ${{{name}}}; variables: {(variables.Count == 0 ? "none (define them under vars:)" : string.Join(", ", variables.Keys))}");
        });

    /// <summary>The reading state of one file: its name, and each option key's line for messages.</summary>
    private sealed class Reader(string source)
    {
        public YamlMappingNode Root(string text)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException e)
            {
                throw new SkimConfigException($"{source}:{e.Start.Line}: not valid YAML: {e.Message}");
            }
            if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                throw new SkimConfigException($"{source}: expected one YAML document holding a mapping (name, vars, stages)");
            }
            return root;
        }

        public SkimConfigException Error(YamlNode node, string message) => new(FormattableString.Invariant($"{source}:{node.Start.Line}: {message}"));

        public void CheckKeys(YamlMappingNode node, IReadOnlyCollection<string> allowed, string what)
        {
            foreach (var key in node.Children.Keys)
            {
                var name = key is YamlScalarNode scalar ? scalar.Value : null;
                if (name is null || !allowed.Contains(name))
                {
                    throw Error(key, $"{what}: unknown key '{name ?? key.ToString()}'; allowed: {string.Join(", ", allowed)}");
                }
            }
        }

        public YamlMappingNode Mapping(YamlMappingNode parent, string key, bool required)
        {
            if (!parent.Children.TryGetValue(new YamlScalarNode(key), out var node))
            {
                return required ? throw Error(parent, $"missing key '{key}'") : new YamlMappingNode();
            }
            return node as YamlMappingNode ?? throw Error(node, $"{key}: expected a mapping");
        }

        public string Scalar(YamlNode node, string what) =>
            node is YamlScalarNode { Value: { } value } ? value : throw Error(node, $"{what}: expected a single value");

        public PipelineStage Stage(string name, YamlMappingNode body, IReadOnlyDictionary<string, string> variables, Dictionary<string, string>? sets, StageCatalog catalog)
        {
            if (!body.Children.TryGetValue(new YamlScalarNode("kind"), out var kindNode))
            {
                throw Error(body, $"stage '{name}': missing key 'kind'; kinds: {string.Join(", ", catalog.Kinds)}");
            }
            var kind = Scalar(kindNode, $"stage '{name}' kind");
            var stage = catalog.Find(kind) ?? throw Error(kindNode, $"stage '{name}': unknown kind '{kind}'; kinds: {string.Join(", ", catalog.Kinds)}");
            var provided = false;
            if (body.Children.TryGetValue(new YamlScalarNode("provided"), out var providedNode))
            {
                provided = Scalar(providedNode, "provided") switch
                {
                    "true" or "yes" => true,
                    "false" or "no" => false,
                    var other => throw Error(providedNode, $"stage '{name}' provided: expected true or false, found '{other}'"),
                };
            }

            var properties = SettableProperties(stage.OptionsType);
            var json = new JsonObject();
            var lines = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (keyNode, valueNode) in body.Children)
            {
                var key = ((YamlScalarNode)keyNode).Value!;
                if (s_stageKeys.Contains(key))
                {
                    continue;
                }
                if (!properties.TryGetValue(key, out var property))
                {
                    throw Error(keyNode, $"stage '{name}' ({kind}): unknown key '{key}'; allowed: {string.Join(", ", s_stageKeys.Concat(properties.Keys))}");
                }
                lines[key] = keyNode.Start.Line;
                json[key] = ToJson(valueNode, property.PropertyType, variables, $"stage '{name}' {key}");
            }
            foreach (var (key, value) in sets ?? [])
            {
                if (!properties.TryGetValue(key, out var property))
                {
                    throw new SkimConfigException($"--set {name}.{key}: stage '{name}' ({kind}) has no key '{key}'; allowed: {string.Join(", ", properties.Keys)}");
                }
                json[key] = ToJson(new YamlScalarNode(value), property.PropertyType, variables, $"--set {name}.{key}");
            }

            object options;
            try
            {
                options = json.Deserialize(stage.OptionsType, s_json)
                    ?? throw Error(body, $"stage '{name}': expected options");
            }
            catch (JsonException e)
            {
                throw Error(body, $"stage '{name}' ({kind}): {Describe(e, lines, properties)}");
            }
            catch (SkimException e)
            {
                throw Error(body, $"stage '{name}' ({kind}): {e.Message}");
            }
            return new PipelineStage(name, stage, options, (int)body.Start.Line, provided);
        }

        private static string Describe(JsonException e, Dictionary<string, long> lines, Dictionary<string, PropertyInfo> properties)
        {
            // "$.epochs" or "$.fields.url": the first segment is the option key.
            var key = e.Path?.TrimStart('$', '.').Split('.', '[')[0];
            if (!string.IsNullOrEmpty(key) && lines.TryGetValue(key, out var line))
            {
                var type = properties.TryGetValue(key, out var property) ? TypeName(property.PropertyType) : "a value";
                return FormattableString.Invariant($"line {line}: key '{key}': expected {type} ({FirstSentence(e.Message)})");
            }
            var missing = properties.Where(p => p.Value.IsDefined(typeof(System.Runtime.CompilerServices.RequiredMemberAttribute)))
                .Select(p => p.Key).Where(k => !lines.ContainsKey(k)).ToList();
            return missing.Count > 0 ? $"missing required key(s): {string.Join(", ", missing)}" : FirstSentence(e.Message);
        }

        private JsonNode? ToJson(YamlNode node, Type type, IReadOnlyDictionary<string, string> variables, string what)
        {
            var target = Nullable.GetUnderlyingType(type) ?? type;
            switch (node)
            {
                case YamlScalarNode scalar:
                    var text = Substitute(scalar.Value ?? "", variables, source, node);
                    if (scalar.Style == ScalarStyle.Plain && text is "" or "~" or "null" && (!target.IsValueType || Nullable.GetUnderlyingType(type) is not null))
                    {
                        return null;
                    }
                    if (target == typeof(bool))
                    {
                        return text switch
                        {
                            "true" or "yes" or "on" => JsonValue.Create(true),
                            "false" or "no" or "off" => JsonValue.Create(false),
                            _ => throw Error(node, $"{what}: expected true or false, found '{text}'"),
                        };
                    }
                    if (IsNumber(target))
                    {
                        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                        {
                            throw Error(node, $"{what}: expected {TypeName(target)}, found '{text}'");
                        }
                        return JsonNode.Parse(text.StartsWith('+') ? text[1..] : text);
                    }
                    if (ElementType(target) is { } element)
                    {
                        // A list given as one value: "a,b,c", as on the command line.
                        return new JsonArray([.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            .Select(part => ToJson(new YamlScalarNode(part), element, variables, what))]);
                    }
                    return JsonValue.Create(text);
                case YamlSequenceNode sequence:
                    var item = ElementType(target) ?? throw Error(node, $"{what}: expected {TypeName(target)}, found a list");
                    return new JsonArray([.. sequence.Children.Select(child => ToJson(child, item, variables, what))]);
                case YamlMappingNode mapping:
                    var valueType = DictionaryValueType(target);
                    var result = new JsonObject();
                    foreach (var (key, value) in mapping.Children)
                    {
                        var keyText = Scalar(key, what);
                        var propertyType = valueType ?? (SettableProperties(target).TryGetValue(keyText, out var p) ? p.PropertyType : typeof(string));
                        result[keyText] = ToJson(value, propertyType, variables, $"{what}.{keyText}");
                    }
                    return result;
                default:
                    throw Error(node, $"{what}: unsupported YAML node");
            }
        }

        private static string FirstSentence(string message)
        {
            var cut = message.IndexOf(". ", StringComparison.Ordinal);
            return cut > 0 ? message[..cut] : message.TrimEnd('.');
        }
    }

    /// <summary>The keys a stage's options take: the settable properties, in snake_case.</summary>
    internal static Dictionary<string, PropertyInfo> SettableProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0)
            .ToDictionary(p => KeyNaming.ConvertName(p.Name), p => p, StringComparer.Ordinal);

    private static bool IsNumber(Type type) =>
        type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(float) || type == typeof(short) || type == typeof(decimal);

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string) || DictionaryValueType(type) is not null)
        {
            return null;
        }
        if (type.IsArray)
        {
            return type.GetElementType();
        }
        var enumerable = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>)
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable is not null && typeof(IEnumerable).IsAssignableFrom(type) ? enumerable.GetGenericArguments()[0] : null;
    }

    private static Type? DictionaryValueType(Type type)
    {
        var dictionary = type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>) || type.GetGenericTypeDefinition() == typeof(IDictionary<,>) || type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>));
        return dictionary?.GetGenericArguments()[1];
    }

    private static string TypeName(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(target).Select(JsonNamingPolicy.KebabCaseLower.ConvertName));
        }
        return target switch
        {
            _ when target == typeof(int) || target == typeof(long) || target == typeof(short) => "an integer",
            _ when target == typeof(double) || target == typeof(float) || target == typeof(decimal) => "a number",
            _ when target == typeof(bool) => "true or false",
            _ when target == typeof(string) => "a text",
            _ when DictionaryValueType(target) is not null => "a mapping",
            _ when ElementType(target) is not null => "a list",
            _ => target.Name,
        };
    }
}
