using System.Globalization;
using System.Text.Json;
using Skim.XcTrain.Comparison;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// The comparison table a pipeline run ends with: the key metrics of each compared run, read from
/// the compare stage's <c>compare.json</c>, with differences against the first run.
/// </summary>
internal static class CompareSummary
{
    private static readonly (string Metric, int K)[] s_rows =
        [("P", 1), ("P", 5), ("nDCG", 5), ("PSP", 1), ("PSP", 5), ("PSnDCG", 5), ("R", 10), ("R", 100)];

    /// <summary>Writes the table for the comparison in <paramref name="folder"/>, if it has one.</summary>
    public static void Render(IAnsiConsole console, string folder)
    {
        var path = Path.Combine(folder, XcComparison.JsonFile);
        if (!File.Exists(path))
        {
            return;
        }
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var runs = json.RootElement.GetProperty("runs").EnumerateArray().ToList();
        if (runs.Count == 0)
        {
            return;
        }
        var names = runs.Select(r => r.GetProperty("name").GetString() ?? "?").ToList();
        var table = new Table { Title = new TableTitle("test split, %"), Caption = new TableTitle($"deciles and plots: {Markup.Escape(Skim.Pipelines.Running.PipelinePlanner.Relative(Path.Combine(folder, XcComparison.MarkdownFile)))}") }
            .AddColumn("metric");
        foreach (var name in names)
        {
            table.AddColumn(new TableColumn(Markup.Escape(name)).RightAligned());
        }
        if (runs.Count > 1)
        {
            table.AddColumn(new TableColumn($"{Markup.Escape(names[^1])} - {Markup.Escape(names[0])}").RightAligned());
        }
        foreach (var (metric, k) in s_rows)
        {
            var values = runs.Select(r => Value(r, metric, k)).ToList();
            if (values.All(double.IsNaN))
            {
                continue;
            }
            var cells = new List<string> { $"{metric}@{k}" };
            cells.AddRange(values.Select(v => double.IsNaN(v) ? "-" : (100 * v).ToString("F2", CultureInfo.InvariantCulture)));
            if (runs.Count > 1)
            {
                var delta = 100 * (values[^1] - values[0]);
                cells.Add(double.IsNaN(delta) ? "-" : delta.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture));
            }
            table.AddRow([.. cells]);
        }
        console.Write(table);
    }

    private static double Value(JsonElement run, string metric, int k) =>
        run.GetProperty("metrics").TryGetProperty(metric, out var byK)
        && byK.TryGetProperty(k.ToString(CultureInfo.InvariantCulture), out var value)
        && value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : double.NaN;
}
