using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Skim.Core;

namespace Skim.Distill.Responses;

/// <summary>One file of SKIM's provided responses: the answers for items <see cref="Start"/> to <see cref="End"/> − 1.</summary>
/// <param name="Path">The file.</param>
/// <param name="Start">The first item index.</param>
/// <param name="End">One past the last item index.</param>
/// <param name="Responses">The response strings, one per item in order.</param>
public sealed record SkimResponseFile(string Path, int Start, int End, IReadOnlyList<string> Responses);

/// <summary>
/// Reads SKIM's provided teacher-response artifact: files <c>responses_{start}_to_{end}.json</c>,
/// each a JSON list of the response strings for items start … end − 1 (item order of the
/// orientation: labels query-side, train documents label-side).
/// </summary>
public static partial class SkimResponseFiles
{
    /// <summary>Reads every <c>responses_*_to_*.json</c> in <paramref name="directory"/>, ordered by start.</summary>
    /// <exception cref="SkimConfigException">The folder does not exist or holds no such file.</exception>
    /// <exception cref="SkimFormatException">A file is not a JSON list of end − start strings, or two files overlap.</exception>
    public static IReadOnlyList<SkimResponseFile> Read(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            throw new SkimConfigException($"import_directory: folder not found: {directory}");
        }
        var files = new List<SkimResponseFile>();
        foreach (var path in Directory.EnumerateFiles(directory, "responses_*_to_*.json"))
        {
            var match = NamePattern().Match(System.IO.Path.GetFileName(path));
            if (!match.Success)
            {
                continue;
            }
            var start = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            var end = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            if (end <= start)
            {
                throw new SkimFormatException(path, null, $"expected responses_START_to_END.json with END > START, found {start} to {end}");
            }
            List<string>? responses;
            try
            {
                using var stream = File.OpenRead(path);
                responses = JsonSerializer.Deserialize<List<string>>(stream);
            }
            catch (JsonException e)
            {
                throw new SkimFormatException(path, e.LineNumber is { } l ? $"line {l + 1}" : null, $"expected a JSON list of response strings ({e.Message})");
            }
            if (responses is null || responses.Count != end - start || responses.Any(r => r is null))
            {
                throw new SkimFormatException(path, null, $"expected a list of {end - start} response strings (items {start} to {end - 1}), found {responses?.Count ?? 0} entries{(responses?.Any(r => r is null) == true ? " with nulls" : "")}");
            }
            files.Add(new SkimResponseFile(path, start, end, responses));
        }
        if (files.Count == 0)
        {
            throw new SkimConfigException($"import_directory: {directory} holds no responses_START_to_END.json file");
        }
        files.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (var k = 1; k < files.Count; k++)
        {
            if (files[k].Start < files[k - 1].End)
            {
                throw new SkimFormatException(files[k].Path, null, $"items {files[k].Start} to {files[k].End - 1} overlap {System.IO.Path.GetFileName(files[k - 1].Path)} (items {files[k - 1].Start} to {files[k - 1].End - 1})");
            }
        }
        return files;
    }

    [GeneratedRegex(@"^responses_(\d{1,9})_to_(\d{1,9})\.json$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
