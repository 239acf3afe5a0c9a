using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Skim.Core.IO;
using Skim.Pipelines.Definition;

namespace Skim.Pipelines.Running;

/// <summary>
/// <c>report.md</c> of a pipeline run: the stage table (status, duration, key numbers), then each
/// stage's own report — a Markdown file it wrote (the comparison's) inlined, and its plots linked.
/// </summary>
public static partial class PipelineReport
{
    /// <summary>The numbers shown per stage in the table.</summary>
    private const int KeyNumbers = 6;

    /// <summary>Writes the report (atomically) when the pipeline names a path; returns the path or null.</summary>
    public static string? Write(PipelineDefinition pipeline, IReadOnlyList<StageReport> stages, double seconds)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        if (pipeline.ReportPath is null)
        {
            return null;
        }
        var path = Path.GetFullPath(pipeline.ReportPath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, Render(pipeline, stages, seconds, Path.GetDirectoryName(path)!));
        return path;
    }

    /// <summary>Renders the report; links are relative to <paramref name="folder"/>.</summary>
    public static string Render(PipelineDefinition pipeline, IReadOnlyList<StageReport> stages, double seconds, string folder)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(stages);
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Pipeline `{pipeline.Name}`");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"From `{Path.GetFileName(pipeline.Path)}`; this run took {seconds:F0} s.");
        md.AppendLine();
        md.AppendLine("| stage | kind | status | why | seconds | key numbers |");
        md.AppendLine("| --- | --- | --- | --- | ---: | --- |");
        foreach (var stage in stages)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {stage.Name} | {stage.Kind} | {stage.Status} | {Cell(stage.Reason)} | {stage.Seconds:F1} | {Cell(KeyNumbersOf(stage.Summary))} |");
        }
        foreach (var stage in stages)
        {
            var directory = stage.OutputDirectory;
            if (!Directory.Exists(directory))
            {
                continue;
            }
            var reports = Directory.EnumerateFiles(directory, "*.md").Where(f => !Path.GetFileName(f).Equals("README.md", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
            var plots = Directory.EnumerateFiles(directory, "*.png").Order(StringComparer.Ordinal).ToList();
            if (reports.Count == 0 && plots.Count == 0)
            {
                continue;
            }
            var relative = Path.GetRelativePath(folder, directory).Replace('\\', '/');
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"## {stage.Name} ({stage.Kind})");
            md.AppendLine();
            foreach (var report in reports)
            {
                // Its headings go one level down and its relative links are re-based onto this report's folder.
                var text = File.ReadAllText(report);
                text = HeadingPattern().Replace(text, m => "#" + m.Value);
                text = LinkPattern().Replace(text, m => $"]({relative}/{m.Groups[1].Value})");
                md.AppendLine(text.TrimEnd());
                md.AppendLine();
            }
            if (reports.Count == 0)
            {
                foreach (var plot in plots)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"![{Path.GetFileNameWithoutExtension(plot)}]({relative}/{Path.GetFileName(plot)})");
                    md.AppendLine();
                }
            }
        }
        return md.ToString();
    }

    /// <summary>The first few numbers of a summary as <c>key value</c> pairs.</summary>
    public static string KeyNumbersOf(JsonObject summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var parts = new List<string>();
        foreach (var (key, value) in summary)
        {
            if (parts.Count == KeyNumbers)
            {
                break;
            }
            if (value is JsonValue scalar)
            {
                parts.Add($"{key} {Format(scalar)}");
            }
        }
        return string.Join(", ", parts);
    }

    private static string Format(JsonValue value)
    {
        if (value.GetValueKind() != JsonValueKind.Number)
        {
            return value.ToString();
        }
        // The node may hold any numeric CLR type; its JSON text is the common ground.
        var text = value.ToJsonString();
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var whole)
            ? whole.ToString("N0", CultureInfo.InvariantCulture)
            : double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture).ToString("G4", CultureInfo.InvariantCulture);
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    [GeneratedRegex(@"^#+ ", RegexOptions.Multiline)]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"\]\((?!https?:|/|#)([^)\s]+)\)")]
    private static partial Regex LinkPattern();
}
