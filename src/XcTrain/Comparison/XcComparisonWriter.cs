using System.Globalization;
using System.Text;
using Microsoft.Data.Analysis;
using Skim.Core.IO;
using Skim.Core.Metrics;
using Skim.Core.Reports;

namespace Skim.XcTrain.Comparison;

/// <summary>
/// The tables of a comparison as <see cref="DataFrame"/>s, and the files made from them: CSV exports,
/// PNG charts and the Markdown report.
/// </summary>
/// <remarks>
/// DataFrames hold the tables and export them as CSV; the Markdown and console renderings format
/// the same frames (percentages, signed differences), so every view shows the same numbers.
/// </remarks>
public static class XcComparisonWriter
{
    /// <summary>The metric table: one row per metric and k, one column per run, then one difference column per later run.</summary>
    public const string MetricsCsv = "metrics.csv";

    /// <summary>The decile table.</summary>
    public const string DecilesCsv = "deciles.csv";

    /// <summary>The missing-label recovery table (only when some run has one).</summary>
    public const string RecoveryCsv = "recovery.csv";

    private static readonly Encoding s_utf8 = new UTF8Encoding(false);

    /// <summary>
    /// Builds the metric table: columns <c>metric</c>, <c>k</c>, one per run (fractions), and
    /// <c>NAME - FIRST</c> per later run.
    /// </summary>
    public static DataFrame MetricsFrame(XcComparisonReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var metricNames = new List<string>();
        var ks = new List<int>();
        foreach (var (_, name) in XcEvaluation.MetricNames)
        {
            foreach (var k in report.K)
            {
                metricNames.Add(name);
                ks.Add(k);
            }
        }
        var columns = new List<DataFrameColumn>
        {
            new StringDataFrameColumn("metric", metricNames),
            new Int32DataFrameColumn("k", ks),
        };
        foreach (var run in report.Runs)
        {
            columns.Add(new DoubleDataFrameColumn(run.Name, metricNames.Select((m, i) => Nullable(run.Get(m, ks[i])))));
        }
        var first = report.Runs[0];
        foreach (var run in report.Runs.Skip(1))
        {
            columns.Add(new DoubleDataFrameColumn(DifferenceColumn(run.Name, first.Name),
                metricNames.Select((m, i) => run.Difference[m][Key(ks[i])])));
        }
        return new DataFrame(columns);
    }

    /// <summary>
    /// Builds the decile table: decile, label count, train-frequency range, truth pairs, then per run
    /// its contribution to P@k and to R@k.
    /// </summary>
    public static DataFrame DecilesFrame(XcComparisonReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var columns = new List<DataFrameColumn>
        {
            new Int32DataFrameColumn("decile", report.Deciles.Select(d => d.Decile)),
            new Int32DataFrameColumn("labels", report.Deciles.Select(d => d.Labels)),
            new Int32DataFrameColumn("min_train_frequency", report.Deciles.Select(d => d.MinTrainFrequency)),
            new Int32DataFrameColumn("max_train_frequency", report.Deciles.Select(d => d.MaxTrainFrequency)),
            new Int64DataFrameColumn("truth_pairs", report.Deciles.Select(d => d.TruthPairs)),
        };
        foreach (var run in report.Runs)
        {
            columns.Add(new DoubleDataFrameColumn($"{run.Name} {report.DecilePrecisionName}", run.DecilePrecision));
        }
        foreach (var run in report.Runs)
        {
            columns.Add(new DoubleDataFrameColumn($"{run.Name} {report.DecileRecallName}", run.DecileRecall));
        }
        return new DataFrame(columns);
    }

    /// <summary>Builds the recovery table (one row per run that has a recovery), or null when none has.</summary>
    public static DataFrame? RecoveryFrame(XcComparisonReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var runs = report.Runs.Where(r => r.Recovery is not null).ToList();
        if (runs.Count == 0)
        {
            return null;
        }
        return new DataFrame(
            new StringDataFrameColumn("run", runs.Select(r => r.Name)),
            new Int64DataFrameColumn("removed_pairs", runs.Select(r => r.Recovery!.RemovedPairs)),
            new Int64DataFrameColumn("added_pairs", runs.Select(r => r.Recovery!.AddedPairs)),
            new Int64DataFrameColumn("recovered_pairs", runs.Select(r => r.Recovery!.RecoveredPairs)),
            new DoubleDataFrameColumn("recall", runs.Select(r => r.Recovery!.Recall)),
            new DoubleDataFrameColumn("precision", runs.Select(r => r.Recovery!.Precision)));
    }

    /// <summary>Writes the CSV tables, the charts and <c>compare.md</c> into the report's folder; returns the files written.</summary>
    public static IReadOnlyList<string> Write(XcComparisonReport report, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        var dir = report.OutputDirectory;
        var files = new List<string>();
        void Csv(string name, DataFrame frame)
        {
            WriteCsv(Path.Combine(dir, name), frame);
            files.Add(name);
        }
        var metrics = MetricsFrame(report);
        var deciles = DecilesFrame(report);
        var recovery = RecoveryFrame(report);
        Csv(MetricsCsv, metrics);
        Csv(DecilesCsv, deciles);
        if (recovery is not null)
        {
            Csv(RecoveryCsv, recovery);
        }

        var charts = new List<(string Title, string File)>();
        foreach (var (_, name) in XcEvaluation.MetricNames)
        {
            ct.ThrowIfCancellationRequested();
            var file = $"metric_{name}.png";
            Charts.GroupedBars(
                Path.Combine(dir, file),
                $"{name}@k (%)",
                $"{name} (%)",
                [.. report.K.Select(k => $"{name}@{Key(k)}")],
                [.. report.Runs.Select(run => (run.Name, report.K.Select(k => run.Get(name, k) * 100).ToArray()))]);
            charts.Add(($"{name}@k", file));
            files.Add(file);
        }
        var decileGroups = report.Deciles.Select(d => Key(d.Decile)).ToArray();
        var precisionFile = $"deciles_P{Key(report.DecilePrecisionK)}.png";
        Charts.GroupedBars(
            Path.Combine(dir, precisionFile),
            $"contribution to {report.DecilePrecisionName} per label-frequency decile (1 = head) (%)",
            $"{report.DecilePrecisionName} contribution (%)",
            decileGroups,
            [.. report.Runs.Select(run => (run.Name, run.DecilePrecision.Select(v => v * 100).ToArray()))]);
        files.Add(precisionFile);
        var recallFile = $"deciles_R{Key(report.DecileRecallK)}.png";
        Charts.GroupedBars(
            Path.Combine(dir, recallFile),
            $"contribution to {report.DecileRecallName} per label-frequency decile (1 = head) (%)",
            $"{report.DecileRecallName} contribution (%)",
            decileGroups,
            [.. report.Runs.Select(run => (run.Name, run.DecileRecall.Select(v => v * 100).ToArray()))]);
        files.Add(recallFile);

        AtomicFile.WriteAllText(Path.Combine(dir, XcComparison.MarkdownFile), Markdown(report, metrics, deciles, recovery, charts, precisionFile, recallFile));
        files.Add(XcComparison.MarkdownFile);
        return files;
    }

    /// <summary>Formats a cell of one of the frames for people: fractions as percentages, differences signed, counts with separators.</summary>
    public static string Format(DataFrameColumn column, long row)
    {
        ArgumentNullException.ThrowIfNull(column);
        var value = column[row];
        return value switch
        {
            null => "n/a",
            double d when column.Name.Contains(" - ", StringComparison.Ordinal) => (d * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture),
            double d => (d * 100).ToString("F2", CultureInfo.InvariantCulture),
            int i => i.ToString("N0", CultureInfo.InvariantCulture),
            long l => l.ToString("N0", CultureInfo.InvariantCulture),
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
        };
    }

    /// <summary>The header of the difference column of <paramref name="run"/> against <paramref name="first"/>.</summary>
    public static string DifferenceColumn(string run, string first) => $"{run} - {first}";

    private static void WriteCsv(string path, DataFrame frame)
    {
        // SaveCsv closes the stream it writes to, which would discard an atomic file before its
        // commit; the bytes go through memory instead (the tables are small).
        using var buffer = new MemoryStream();
        DataFrame.SaveCsv(frame, buffer, ',', header: true, s_utf8, CultureInfo.InvariantCulture);
        var bytes = buffer.ToArray();
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static string Markdown(
        XcComparisonReport report, DataFrame metrics, DataFrame deciles, DataFrame? recovery,
        List<(string Title, string File)> charts, string precisionFile, string recallFile)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine("# XC run comparison").AppendLine();
        md.AppendLine(inv, $"- dataset: `{report.Dataset}`, split `{report.Split}`");
        md.AppendLine(inv, $"- ground truth: {(report.Truth is null ? "the dataset's split matrix" : $"`{report.Truth}`")}");
        md.AppendLine(inv, $"- propensity A = {report.PropensityA.ToString(inv)}, B = {report.PropensityB.ToString(inv)}; filter pairs {(report.Filtered ? "removed" : "kept")}");
        foreach (var run in report.Runs)
        {
            var trained = run.TrainMatrix is null ? "" : $", trained on `{run.TrainMatrix}`";
            md.AppendLine(inv, $"- **{run.Name}**: `{run.Scores}`{trained}");
        }
        md.AppendLine();
        md.AppendLine(inv, $"## Metrics (%; differences in points against {report.Runs[0].Name})").AppendLine();
        AppendTable(md, metrics);
        md.AppendLine();
        foreach (var (title, file) in charts)
        {
            md.AppendLine(inv, $"![{title}]({file})");
        }
        md.AppendLine();
        md.AppendLine("## Label-frequency deciles").AppendLine();
        md.AppendLine(inv, $"Labels sorted by frequency in the observed train matrix (decile 1 = most frequent, head; decile 10 = rarest, tail), ten buckets of equal label count. A decile's contribution counts the hits on its labels only; the ten contributions of a run sum to its {report.DecilePrecisionName} and {report.DecileRecallName} (%).");
        md.AppendLine();
        AppendTable(md, deciles);
        md.AppendLine();
        md.AppendLine(inv, $"![{report.DecilePrecisionName} by decile]({precisionFile})");
        md.AppendLine(inv, $"![{report.DecileRecallName} by decile]({recallFile})");
        if (recovery is not null)
        {
            md.AppendLine();
            md.AppendLine("## Recovery of simulated-missing labels").AppendLine();
            md.AppendLine("Pairs the simulation removed from the full train matrix, pairs the run's train matrix added to the observed one, and the added pairs that are removed ones (recall over removed pairs, precision over added pairs; %).");
            md.AppendLine();
            AppendTable(md, recovery);
        }
        return md.ToString();
    }

    private static void AppendTable(StringBuilder md, DataFrame frame)
    {
        md.Append('|');
        foreach (var column in frame.Columns)
        {
            md.Append(' ').Append(column.Name).Append(" |");
        }
        md.AppendLine();
        md.Append('|');
        foreach (var column in frame.Columns)
        {
            md.Append(column is StringDataFrameColumn ? " --- |" : " ---: |");
        }
        md.AppendLine();
        for (long row = 0; row < frame.Rows.Count; row++)
        {
            md.Append('|');
            foreach (var column in frame.Columns)
            {
                md.Append(' ').Append(Format(column, row)).Append(" |");
            }
            md.AppendLine();
        }
    }

    private static double? Nullable(double value) => double.IsFinite(value) ? value : null;

    private static string Key(int k) => k.ToString(CultureInfo.InvariantCulture);
}
