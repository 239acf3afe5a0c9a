using System.IO.Hashing;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Skim.Core.IO;

namespace Skim.Core.Manifests;

/// <summary>
/// <c>manifest.json</c> of an output folder: which stage wrote it with which resolved options and
/// seed, which files went in and came out (sizes and XxHash128 content hashes), how long it took,
/// and, written last, whether it completed. A pipeline compares it with its next run's inputs and
/// options to skip or redo the stage.
/// </summary>
public sealed record RunManifest
{
    /// <summary>The file name in an output folder.</summary>
    public const string FileName = "manifest.json";

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly JsonSerializerOptions s_optionsJson = new(s_json) { PropertyNamingPolicy = OptionNaming.Instance, Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) } };

    /// <summary>Gets the stage or verb that wrote the folder (e.g. "train").</summary>
    public required string Stage { get; init; }

    /// <summary>Gets the Skim version that wrote it.</summary>
    public string Version { get; init; } = typeof(RunManifest).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Gets the resolved options, as the options record serialises (secrets never belong here).</summary>
    public required JsonNode Options { get; init; }

    /// <summary>Gets the seed of every random choice.</summary>
    public long Seed { get; init; }

    /// <summary>Gets the input files.</summary>
    public IReadOnlyList<ManifestFile> Inputs { get; init; } = [];

    /// <summary>Gets the output files (paths relative to the folder).</summary>
    public IReadOnlyList<ManifestFile> Outputs { get; init; } = [];

    /// <summary>Gets when the stage started (UTC).</summary>
    public DateTimeOffset Started { get; init; }

    /// <summary>Gets the wall time in seconds.</summary>
    public double Seconds { get; init; }

    /// <summary>Gets stage-specific numbers worth keeping (final loss, metrics, counts).</summary>
    public JsonObject? Summary { get; init; }

    /// <summary>Gets whether the stage completed; a manifest without it describes an interrupted run.</summary>
    public bool Complete { get; init; }

    /// <summary>Serialises options records the way manifests hold them (snake_case keys, enums as names).</summary>
    public static JsonNode OptionsNode<T>(T options) =>
        JsonSerializer.SerializeToNode(options, s_optionsJson)
        ?? new JsonObject();

    /// <summary>Describes <paramref name="path"/> (a file, or every file below a folder) with sizes and hashes; paths are shown relative to <paramref name="relativeTo"/> when given.</summary>
    public static IEnumerable<ManifestFile> Describe(string path, string? relativeTo = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            : File.Exists(path) ? [path] : Enumerable.Empty<string>();
        foreach (var file in files)
        {
            yield return new ManifestFile(relativeTo is null ? Path.GetFullPath(file) : Path.GetRelativePath(relativeTo, file), new FileInfo(file).Length, Hash(file));
        }
    }

    /// <summary>The XxHash128 of a file's bytes, as lower-case hex.</summary>
    public static string Hash(string path)
    {
        var hash = new XxHash128();
        using var stream = File.OpenRead(path);
        hash.Append(stream);
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    /// <summary>Writes the manifest into <paramref name="directory"/> atomically.</summary>
    public void Write(string directory) =>
        AtomicFile.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, s_json) + "\n");

    /// <summary>Reads the manifest of <paramref name="directory"/>, or null when there is none.</summary>
    /// <exception cref="SkimFormatException">The file is not a manifest.</exception>
    public static RunManifest? Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path), s_json)
                ?? throw new SkimFormatException(path, null, "expected a manifest object, found null");
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, null, $"not a valid manifest: {e.Message}");
        }
    }
}

/// <summary>A file named in a manifest.</summary>
/// <param name="Path">Absolute for inputs, relative to the folder for outputs.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="XxHash128">Its content hash.</param>
public sealed record ManifestFile(string Path, long Bytes, string XxHash128);
