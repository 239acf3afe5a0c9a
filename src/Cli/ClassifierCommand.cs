using System.CommandLine;
using System.Globalization;
using Skim.Core.Stages;
using Skim.XcTrain.Classifiers.Miv;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim classifier train RUN</c>: trains NGAME's M-IV extreme classifier over the frozen encoder of
/// a <c>skim train</c> run (<see cref="MivTrainer"/>) and prints the epochs' table.
/// </summary>
internal static class ClassifierCommand
{
    /// <summary>Builds the <c>classifier</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var command = new Command("classifier", "NGAME's M-IV extreme classifier over a trained encoder.");
        command.Subcommands.Add(CreateTrain(console));
        return command;
    }

    private static Command CreateTrain(IAnsiConsole console)
    {
        var defaults = new MivOptions { RunDirectory = "" };
        var run = new Argument<string>("RUN") { Description = "The run folder of skim train (its encoder is kept frozen)." };
        var dataset = new Option<string?>("--dataset", "-d") { Description = "The dataset. Defaults to the one the run trained on." };
        var matrix = new Option<string?>("--train-matrix") { Description = "The train matrix whose positives are learned (.npz or XC text, e.g. trn_X_Y_skim.npz). Defaults to the run's." };
        var epochs = new Option<int>("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => defaults.Epochs };
        var batchSize = new Option<int>("--batch-size") { Description = "Train points per step.", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate of the sparse Adam update (linear warm-up, then linear decay).", DefaultValueFactory = _ => defaults.LearningRate };
        var shortlist = new Option<int>("--shortlist") { Description = "Hard labels shortlisted per train point (exact top-k over the classifier vectors).", DefaultValueFactory = _ => defaults.ShortlistSize };
        var refresh = new Option<int>("--shortlist-every") { Description = "Epochs between shortlist refreshes.", DefaultValueFactory = _ => defaults.ShortlistRefreshInterval };
        var margin = new Option<double>("--margin") { Description = "Hinge margin of NGAME's multi-positive loss.", DefaultValueFactory = _ => defaults.Margin };
        var dropout = new Option<double>("--dropout") { Description = "Dropout on the frozen point embeddings.", DefaultValueFactory = _ => defaults.Dropout };
        var seed = new Option<long>("--seed") { Description = "Seed of every random choice.", DefaultValueFactory = _ => defaults.Seed };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => defaults.Device };
        var output = new Option<string?>("--out", "-o") { Description = "The classifier folder. Defaults to classifier/ in the run folder." };
        var resume = new Option<bool>("--resume") { Description = "Continue the classifier run in the output folder from its last checkpoint." };
        var command = new Command("train", "Train NGAME's M-IV classifier (one vector per label, shortlisted hard negatives, sparse updates) over a run's frozen encoder.")
        {
            run, dataset, matrix, epochs, batchSize, lr, shortlist, refresh, margin, dropout, seed, device, output, resume,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new MivOptions
            {
                RunDirectory = parseResult.GetValue(run)!,
                DatasetDirectory = parseResult.GetValue(dataset),
                TrainMatrixPath = parseResult.GetValue(matrix),
                Epochs = parseResult.GetValue(epochs),
                BatchSize = parseResult.GetValue(batchSize),
                LearningRate = parseResult.GetValue(lr),
                ShortlistSize = parseResult.GetValue(shortlist),
                ShortlistRefreshInterval = parseResult.GetValue(refresh),
                Margin = parseResult.GetValue(margin),
                Dropout = parseResult.GetValue(dropout),
                Seed = parseResult.GetValue(seed),
                Device = parseResult.GetValue(device)!,
                OutputDirectory = parseResult.GetValue(output),
                Resume = parseResult.GetValue(resume),
            };
            options.Validate();
            var result = await ProgressDisplay.RunAsync<StageProgress, MivResult>(
                console,
                "classifier",
                "batches",
                p => (p.Done, p.Total),
                progress => MivTrainer.RunAsync(options, progress, cancellationToken),
                r => r.Records.Count).ConfigureAwait(false);
            Render(console, result);
            return 0;
        });
        return command;
    }

    private static void Render(IAnsiConsole console, MivResult result)
    {
        var table = new Table().AddColumns("epoch", "loss", "shortlist recall %", "ex/s", "lr");
        foreach (var record in result.Records)
        {
            table.AddRow(
                record.Epoch.ToString(CultureInfo.InvariantCulture),
                double.IsFinite(record.Loss) ? record.Loss.ToString("F4", CultureInfo.InvariantCulture) : "-",
                double.IsFinite(record.ShortlistRecall) ? (record.ShortlistRecall * 100).ToString("F2", CultureInfo.InvariantCulture) : "-",
                record.ExamplesPerSecond.ToString("F0", CultureInfo.InvariantCulture),
                record.LearningRate.ToString("G3", CultureInfo.InvariantCulture));
        }
        console.Write(table);
        var resumed = result.ResumedFromEpoch > 0 ? $", resumed after epoch {result.ResumedFromEpoch}" : "";
        console.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"trained {result.Labels:N0} label vectors ({result.Dimension} dims) on {result.TrainRows:N0} points in {result.Elapsed.TotalSeconds:F1} s{resumed}: {result.ClassifierPath}");
        console.MarkupLineInterpolated($"predict with: skim predict RUN --method classifier-fusion --classifier {result.OutputDirectory}");
    }
}
