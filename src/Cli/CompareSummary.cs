using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Pipelines.Running;
using Skim.XcTrain.Comparison;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// The comparison table a pipeline run ends with: the key metrics of each compared run, from the
/// compare stage's summary ("RUN METRIC@k" keys), with differences against the first run.
/// </summary>
internal static class CompareSummary
{
    private static readonly (string Metric, int K)[] s_rows =
        [("P", 1), ("P", 5), ("nDCG", 5), ("PSP", 1), ("PSP", 5), ("PSnDCG", 5), ("R", 10), ("R", 100)];

    /// <summary>Writes the table of a compare stage's report.</summary>
    public static void Render(IAnsiConsole console, StageReport stage)
    {
        var summary = stage.Summary;
        // Run names in order: the keys of the first row's metric, less the metric.
        const string first = " P@1";
        var names = summary.Select(p => p.Key).Where(k => k.EndsWith(first, StringComparison.Ordinal)).Select(k => k[..^first.Length]).ToList();
        if (names.Count == 0)
        {
            return;
        }
        var table = new Table
        {
            Title = new TableTitle("test split, %"),
            Caption = new TableTitle($"deciles and plots: {Markup.Escape(PipelinePlanner.Relative(Path.Combine(stage.OutputDirectory, XcComparison.MarkdownFile)))}"),
        }.AddColumn("metric");
        foreach (var name in names)
        {
            table.AddColumn(new TableColumn(Markup.Escape(name)).RightAligned());
        }
        if (names.Count > 1)
        {
            table.AddColumn(new TableColumn($"{Markup.Escape(names[^1])} - {Markup.Escape(names[0])}").RightAligned());
        }
        foreach (var (metric, k) in s_rows)
        {
            var values = names.Select(n => Value(summary, $"{n} {metric}@{k.ToString(CultureInfo.InvariantCulture)}")).ToList();
            if (values.All(double.IsNaN))
            {
                continue;
            }
            var cells = new List<string> { $"{metric}@{k}" };
            cells.AddRange(values.Select(v => double.IsNaN(v) ? "-" : (100 * v).ToString("F2", CultureInfo.InvariantCulture)));
            if (names.Count > 1)
            {
                var delta = 100 * (values[^1] - values[0]);
                cells.Add(double.IsNaN(delta) ? "-" : delta.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture));
            }
            table.AddRow([.. cells]);
        }
        console.Write(table);
    }

    // Fresh summaries hold doubles, ones read from a manifest JSON elements; the JSON text serves both.
    private static double Value(JsonObject summary, string key) =>
        summary[key] is JsonValue value && double.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : double.NaN;
}
