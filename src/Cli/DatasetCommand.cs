using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Skim.Core;
using Skim.Core.Datasets;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim dataset inspect|convert|simulate-missing</c>: look at an XC dataset folder, rewrite it in the
/// other layout, or derive one with simulated missing train labels.
/// </summary>
public static class DatasetCommand
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Builds the <c>dataset</c> command with its subcommands, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var command = new Command("dataset", "Inspect an XC dataset folder, convert it between the DEXML and XC layouts, or simulate missing labels.");
        command.Subcommands.Add(CreateInspect(console));
        command.Subcommands.Add(CreateConvert(console));
        command.Subcommands.Add(CreateSimulateMissing(console));
        return command;
    }

    private static Command CreateInspect(IAnsiConsole console)
    {
        var directory = new Argument<string>("DIR") { Description = "The dataset folder (DEXML or XC layout, detected)." };
        var json = new Option<bool>("--json") { Description = "Print the statistics as JSON instead of tables." };
        var command = new Command("inspect", "Check a dataset and show its size, labels per point, empty rows and label-frequency deciles.")
        {
            directory,
            json,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var dataset = XcDataset.Open(parseResult.GetValue(directory)!);
            cancellationToken.ThrowIfCancellationRequested();
            var statistics = XcDatasetStatistics.Compute(dataset);
            if (parseResult.GetValue(json))
            {
                // Straight to the output writer: console rendering would wrap long lines.
                console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(statistics, s_json));
            }
            else
            {
                Render(console, statistics);
            }
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command CreateConvert(IAnsiConsole console)
    {
        var directory = new Argument<string>("DIR") { Description = "The dataset folder to convert." };
        var outArgument = new Argument<string?>("OUT")
        {
            Description = "The new folder to write (the same as --out).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var to = new Option<string>("--to")
        {
            Description = "The layout to write: dexml (raw/*.txt + Y.*.npz) or xc (*.json.gz + *_X_Y.txt).",
            Required = true,
        };
        to.AcceptOnlyFromAmong("dexml", "xc");
        var output = new Option<string?>("--out", "-o") { Description = "The new folder to write; it must not exist or be empty." };
        var command = new Command("convert", "Write a dataset in the DEXML or XC layout (texts, matrices, full train matrix, filters).")
        {
            directory,
            outArgument,
            to,
            output,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var target = ResolveOutput(parseResult.GetValue(output), parseResult.GetValue(outArgument));
            var layout = parseResult.GetValue(to) == "dexml" ? XcDatasetLayout.Dexml : XcDatasetLayout.Xc;
            var dataset = XcDataset.Open(parseResult.GetValue(directory)!);
            var written = XcDatasetConverter.Convert(dataset, layout, target, cancellationToken);
            var table = new Table().AddColumn("file").AddColumn(new TableColumn("bytes").RightAligned());
            foreach (var file in written)
            {
                var size = new FileInfo(Path.Combine(target, file)).Length;
                table.AddRow(Markup.Escape(file), size.ToString("N0", CultureInfo.InvariantCulture));
            }
            console.Write(table);
            console.MarkupLineInterpolated($"converted {XcDataset.LayoutName(dataset.Layout)} -> {XcDataset.LayoutName(layout)}: {written.Count} files in {target}");
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command CreateSimulateMissing(IAnsiConsole console)
    {
        var defaults = new MissingLabelSimulationOptions();
        var directory = new Argument<string>("DIR") { Description = "The dataset folder whose train matrix loses pairs." };
        var rate = new Option<double>("--rate")
        {
            Description = "Drop probability of the most frequent label's pairs; a label at frequency percentile p loses rate + tail-bias * (1 - p).",
            DefaultValueFactory = _ => defaults.Rate,
        };
        var tailBias = new Option<double>("--tail-bias")
        {
            Description = "Extra drop probability of the rarest label's pairs (0.2 and 0.5 reproduce the demo dataset's rule).",
            DefaultValueFactory = _ => defaults.TailBias,
        };
        var seed = new Option<long>("--seed") { Description = "Seed of the draws.", DefaultValueFactory = _ => defaults.Seed };
        var output = new Option<string>("--out", "-o") { Description = "The new dataset folder; it must not exist or be empty.", Required = true };
        var command = new Command("simulate-missing", "Write a copy of a dataset whose train matrix lost pairs, tail labels more often, keeping the complete matrix beside it.")
        {
            directory,
            rate,
            tailBias,
            seed,
            output,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new MissingLabelSimulationOptions
            {
                Rate = parseResult.GetValue(rate),
                TailBias = parseResult.GetValue(tailBias),
                Seed = parseResult.GetValue(seed),
            };
            var result = MissingLabelSimulation.Run(parseResult.GetValue(directory)!, parseResult.GetValue(output)!, options, cancellationToken);
            var table = new Table().AddColumn("").AddColumn(new TableColumn("value").RightAligned());
            table.AddRow("train points", N(result.TrainPoints));
            table.AddRow("labels", N(result.Labels));
            table.AddRow("train pairs (full)", N(result.FullPairs));
            table.AddRow("train pairs kept", N(result.KeptPairs));
            table.AddRow("train pairs dropped", $"{N(result.DroppedPairs)} ({P(result.FullPairs == 0 ? 0 : (double)result.DroppedPairs / result.FullPairs)})");
            table.AddRow("points left without labels", N(result.PointsLeftWithoutLabels));
            console.Write(table);
            console.MarkupLineInterpolated($"wrote {result.Files.Count} files ({XcDataset.LayoutName(result.Layout)} layout) to {result.OutputDirectory}");
            return Task.FromResult(0);
        });
        return command;
    }

    private static string ResolveOutput(string? option, string? argument)
    {
        if (option is null && argument is null)
        {
            throw new SkimConfigException("convert: give the output folder with --out OUT (or as the second argument)");
        }
        if (option is not null && argument is not null && option != argument)
        {
            throw new SkimConfigException($"convert: two output folders given (--out {option} and {argument}); give one");
        }
        return option ?? argument!;
    }

    private static void Render(IAnsiConsole console, XcDatasetStatistics statistics)
    {
        console.MarkupLineInterpolated($"[bold]{statistics.Directory}[/] ({XcDataset.LayoutName(statistics.Layout)} layout, {statistics.NumLabels:N0} labels)");
        var splits = new List<XcSplitStatistics> { statistics.Train, statistics.Test };
        if (statistics.FullTrain is { } full)
        {
            splits.Add(full);
        }
        // One column per matrix keeps the table narrow enough for an 80-column terminal.
        var table = new Table().AddColumn("");
        foreach (var s in splits)
        {
            table.AddColumn(new TableColumn(s.Split).RightAligned());
        }
        void Row(string name, Func<XcSplitStatistics, string> value) =>
            table.AddRow([name, .. splits.Select(value)]);
        Row("points", s => N(s.Points));
        Row("labels", s => N(s.Labels));
        Row("non-zeros", s => N(s.NonZeros));
        Row("labels per point (avg, min-max)", s => $"{F(s.LabelsPerPointAverage)} ({N(s.LabelsPerPointMin)}-{N(s.LabelsPerPointMax)})");
        Row("points per label (avg, min-max)", s => $"{F(s.PointsPerLabelAverage)} ({N(s.PointsPerLabelMin)}-{N(s.PointsPerLabelMax)})");
        Row("empty rows", s => N(s.EmptyRows));
        Row("labels without points", s => N(s.LabelsWithoutPoints));
        Row("filter pairs", s => N(s.FilterPairs));
        console.Write(table);

        var deciles = new Table()
            .Title("label-frequency deciles (labels sorted by train frequency, head first)")
            .AddColumn(new TableColumn("decile").RightAligned())
            .AddColumn(new TableColumn("labels").RightAligned())
            .AddColumn(new TableColumn("train freq").RightAligned())
            .AddColumn(new TableColumn("train pairs").RightAligned())
            .AddColumn(new TableColumn("train share").RightAligned())
            .AddColumn(new TableColumn("test pairs").RightAligned())
            .AddColumn(new TableColumn("test share").RightAligned());
        foreach (var d in statistics.Deciles)
        {
            deciles.AddRow(
                N(d.Decile),
                N(d.Labels),
                d.MinTrainFrequency == d.MaxTrainFrequency ? N(d.MinTrainFrequency) : $"{N(d.MinTrainFrequency)}-{N(d.MaxTrainFrequency)}",
                N(d.TrainNonZeros),
                P(d.TrainShare),
                N(d.TestNonZeros),
                P(d.TestShare));
        }
        console.Write(deciles);
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    private static string P(double value) => value.ToString("0.0%", CultureInfo.InvariantCulture);
}
