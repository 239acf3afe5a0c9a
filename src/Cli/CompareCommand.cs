using System.CommandLine;
using System.Globalization;
using Microsoft.Data.Analysis;
using Skim.Core.Datasets;
using Skim.Core.Metrics;
using Skim.XcTrain.Comparison;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim compare</c>: puts XC runs side by side (<see cref="XcComparison"/>): every metric with its
/// difference from the first run, each label-frequency decile's share of P@5 and R@100, and the
/// recovery of simulated-missing labels; prints the tables and writes CSV, PNG, Markdown and JSON.
/// </summary>
internal static class CompareCommand
{
    /// <summary>Builds the <c>compare</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var runs = new Argument<string[]>("RUN")
        {
            Description = "Run folders of 'skim train' holding {split}_scores.npz from 'skim predict' (or score .npz files); the first is the baseline.",
            Arity = ArgumentArity.OneOrMore,
        };
        var dataset = new Option<string?>("--dataset", "-d")
        {
            Description = "The dataset folder. Defaults to the one the runs trained on (their manifests must agree).",
        };
        var truth = new Option<string?>("--truth")
        {
            Description = "Score against this ground truth (.npz or XC text) of the split's shape instead of the dataset's.",
        };
        var names = new Option<string?>("--names")
        {
            Description = "Comma-separated names of the runs, one per run. Defaults to the folder names.",
        };
        var split = new Option<string>("--split")
        {
            Description = "The split the scores are for: tst or trn.",
            DefaultValueFactory = _ => XcDataset.TestSplit,
        };
        split.AcceptOnlyFromAmong(XcDataset.TestSplit, XcDataset.TrainSplit, "test", "train");
        var ks = new Option<string>("--k")
        {
            Description = "Comma-separated k at which to report every metric.",
            DefaultValueFactory = _ => string.Join(',', XcEvaluationOptions.DefaultKs),
        };
        var a = new Option<double?>("--A") { Description = "Propensity A. Defaults by dataset family, as skim eval." };
        var b = new Option<double?>("--B") { Description = "Propensity B. Defaults by dataset family, as skim eval." };
        var noFilter = new Option<bool>("--no-filter")
        {
            Description = "Keep the split's filter pairs (filter_labels_*.txt) in the predictions instead of removing them.",
        };
        var output = new Option<string?>("--out", "-o")
        {
            Description = "The folder for metrics.csv, deciles.csv, the PNGs, compare.md and compare.json. Defaults to compare/ next to the first run.",
        };
        var command = new Command("compare", "Compare XC runs side by side: metrics, differences, label-frequency deciles, plots and a Markdown report.")
        {
            runs,
            dataset,
            truth,
            names,
            split,
            ks,
            a,
            b,
            noFilter,
            output,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new XcComparisonOptions
            {
                Runs = parseResult.GetValue(runs)!,
                DatasetDirectory = parseResult.GetValue(dataset),
                TruthPath = parseResult.GetValue(truth),
                Names = parseResult.GetValue(names) is { } given ? given.Split(',', StringSplitOptions.TrimEntries) : null,
                Split = parseResult.GetValue(split)!,
                Ks = XcEvaluationOptions.ParseKs(parseResult.GetValue(ks)!),
                PropensityA = parseResult.GetValue(a),
                PropensityB = parseResult.GetValue(b),
                Filter = !parseResult.GetValue(noFilter),
                OutputDirectory = parseResult.GetValue(output),
            };
            var report = XcComparison.Run(options, cancellationToken);
            Render(console, report);
            return Task.FromResult(0);
        });
        return command;
    }

    private static void Render(IAnsiConsole console, XcComparisonReport report)
    {
        var inv = CultureInfo.InvariantCulture;
        var truth = report.Truth is null ? "" : $", truth {report.Truth}";
        console.MarkupLineInterpolated(
            $"[bold]{report.Runs.Count} runs[/] on split {report.Split} of {report.Dataset}{truth}: A={report.PropensityA.ToString(inv)}, B={report.PropensityB.ToString(inv)}, {(report.Filtered ? "filter pairs removed" : "no filter")}");
        console.Write(Table(XcComparisonWriter.MetricsFrame(report), $"metrics (%; differences in points against {report.Runs[0].Name})"));
        console.Write(Table(XcComparisonWriter.DecilesFrame(report),
            $"contribution per label-frequency decile (%; decile 1 = most frequent train labels); each run's deciles sum to its {report.DecilePrecisionName} and {report.DecileRecallName}"));
        if (XcComparisonWriter.RecoveryFrame(report) is { } recovery)
        {
            console.Write(Table(recovery, "simulated-missing train pairs recovered by the run's train matrix (recall, precision in %)"));
        }
        console.MarkupLineInterpolated($"wrote {report.Files.Count} files to {report.OutputDirectory} (report: {XcComparison.MarkdownFile})");
    }

    // The CSV headers are for programs; a terminal table needs narrower ones.
    private static readonly Dictionary<string, string> s_shortHeaders = new(StringComparer.Ordinal)
    {
        ["min_train_frequency"] = "min freq",
        ["max_train_frequency"] = "max freq",
        ["truth_pairs"] = "pairs",
        ["removed_pairs"] = "removed",
        ["added_pairs"] = "added",
        ["recovered_pairs"] = "recovered",
    };

    private static Table Table(DataFrame frame, string title)
    {
        var table = new Table().Title(Markup.Escape(title));
        foreach (var column in frame.Columns)
        {
            var header = new TableColumn(Markup.Escape(s_shortHeaders.GetValueOrDefault(column.Name, column.Name)));
            table.AddColumn(column is StringDataFrameColumn ? header : header.RightAligned());
        }
        for (long row = 0; row < frame.Rows.Count; row++)
        {
            table.AddRow([.. frame.Columns.Select(column => Markup.Escape(XcComparisonWriter.Format(column, row)))]);
        }
        return table;
    }
}
