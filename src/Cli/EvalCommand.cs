using System.CommandLine;
using System.Globalization;
using Skim.Core.Datasets;
using Skim.Core.Metrics;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim eval</c>: scores a prediction matrix against a dataset split with pyxclib-compatible
/// metrics (<see cref="XcEvaluation"/>), prints a table and says where <c>metrics.json</c> went.
/// </summary>
public static class EvalCommand
{
    /// <summary>Builds the <c>eval</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var dataset = new Option<string>("--dataset", "-d")
        {
            Description = "The dataset folder (DEXML or XC layout); its train matrix gives the propensities.",
            Required = true,
        };
        var scores = new Option<string>("--scores", "-s")
        {
            Description = "The score matrix (scipy CSR .npz), rows = points of the split, columns = labels.",
            Required = true,
        };
        var split = new Option<string>("--split")
        {
            Description = "The split the scores are for: tst or trn.",
            DefaultValueFactory = _ => XcDataset.TestSplit,
        };
        split.AcceptOnlyFromAmong(XcDataset.TestSplit, XcDataset.TrainSplit, "test", "train");
        var a = new Option<double?>("--A")
        {
            Description = "Propensity A. Defaults by dataset family: 0.6 Amazon, 0.5 Wikipedia (not WikiSeeAlso), else 0.55.",
        };
        var b = new Option<double?>("--B")
        {
            Description = "Propensity B. Defaults by dataset family: 2.6 Amazon, 0.4 Wikipedia (not WikiSeeAlso), else 1.5.",
        };
        var ks = new Option<string>("--k")
        {
            Description = "Comma-separated k at which to report every metric.",
            DefaultValueFactory = _ => string.Join(',', XcEvaluationOptions.DefaultKs),
        };
        var output = new Option<string?>("--out", "-o")
        {
            Description = "Where to write the metrics JSON. Defaults to metrics.json next to the scores file.",
        };
        var noFilter = new Option<bool>("--no-filter")
        {
            Description = "Keep the split's filter pairs (filter_labels_*.txt) in the predictions instead of removing them.",
        };
        var command = new Command("eval", "Score a prediction matrix with P@k, nDCG@k, PSP@k, PSnDCG@k and R@k (pyxclib semantics).")
        {
            dataset,
            scores,
            split,
            a,
            b,
            ks,
            output,
            noFilter,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new XcEvaluationOptions
            {
                DatasetDirectory = parseResult.GetValue(dataset)!,
                ScoresPath = parseResult.GetValue(scores)!,
                Split = parseResult.GetValue(split)!,
                PropensityA = parseResult.GetValue(a),
                PropensityB = parseResult.GetValue(b),
                Ks = XcEvaluationOptions.ParseKs(parseResult.GetValue(ks)!),
                OutputPath = parseResult.GetValue(output),
                Filter = !parseResult.GetValue(noFilter),
            };
            var report = XcEvaluation.Run(options, cancellationToken);
            Render(console, options, report);
            console.MarkupLineInterpolated($"wrote {options.ResolvedOutputPath}");
            return Task.FromResult(0);
        });
        return command;
    }

    private static void Render(IAnsiConsole console, XcEvaluationOptions options, XcEvaluationReport report)
    {
        var filtered = report.Filtered ? $"{report.Counts.FilterPairs:N0} filter pairs removed" : "no filter";
        console.MarkupLineInterpolated(
            $"[bold]{options.ScoresPath}[/] on split {report.Split} of {options.DatasetDirectory}: {report.Counts.Points:N0} points, A={report.PropensityA.ToString(CultureInfo.InvariantCulture)}, B={report.PropensityB.ToString(CultureInfo.InvariantCulture)}, {filtered}");
        var table = new Table().AddColumn("metric (%)");
        foreach (var k in report.K)
        {
            table.AddColumn(new TableColumn($"@{k}").RightAligned());
        }
        foreach (var (_, name) in XcEvaluation.MetricNames)
        {
            table.AddRow([name, .. report.K.Select(k => (report.Get(name, k) * 100).ToString("F2", CultureInfo.InvariantCulture))]);
        }
        console.Write(table);
    }
}
