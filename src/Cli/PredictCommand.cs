using System.CommandLine;
using System.Globalization;
using Skim.Core.Datasets;
using Skim.XcTrain.Prediction;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// <c>skim predict RUN</c>: scores a dataset split with a trained encoder, or with the run's M-IV
/// classifier alone or fused with label retrieval (<see cref="XcPredictor"/>).
/// </summary>
public static class PredictCommand
{
    /// <summary>Builds the <c>predict</c> command, rendering to <paramref name="console"/>.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var defaults = new XcPredictOptions { RunDirectory = "" };
        var run = new Argument<string>("RUN") { Description = "The run folder of skim train." };
        var dataset = new Option<string?>("--dataset", "-d") { Description = "The dataset to score. Defaults to the one the run trained on." };
        var split = new Option<string>("--split") { Description = "tst or trn.", DefaultValueFactory = _ => defaults.Split };
        split.AcceptOnlyFromAmong(XcDataset.TestSplit, XcDataset.TrainSplit, "test", "train");
        var method = new Option<string>("--method")
        {
            Description = "label (label-embedding retrieval), instance (nearest training points' labels), fusion (of those two), classifier (the run's M-IV classifier) or classifier-fusion (classifier fused with label retrieval).",
            DefaultValueFactory = _ => "label",
        };
        method.AcceptOnlyFromAmong("label", "instance", "fusion", "classifier", "classifier-fusion");
        var topK = new Option<int>("--top-k") { Description = "Labels kept per point.", DefaultValueFactory = _ => defaults.TopK };
        var neighbours = new Option<int>("--neighbours") { Description = "Training points consulted per point (instance, fusion).", DefaultValueFactory = _ => defaults.Neighbours };
        var weight = new Option<double>("--fusion-weight") { Description = "Weight of label retrieval in a weighted-sum fusion (the other side gets 1 - it; 0 with classifier-fusion --fusion sum gives the classifier's scores exactly).", DefaultValueFactory = _ => defaults.FusionWeight };
        var tune = new Option<bool>("--tune-fusion") { Description = "fusion: choose --fusion-weight and --neighbours on the training run's held-out validation rows by (P@1 + R@100) / 2 (report in fusion_tuning.json beside the scores)." };
        var fusion = new Option<string>("--fusion") { Description = "How classifier-fusion fuses: tree (NGAME's depth-7 decision tree on classifier score, label score and propensity) or sum.", DefaultValueFactory = _ => "tree" };
        fusion.AcceptOnlyFromAmong("tree", "sum");
        var beta = new Option<double>("--fusion-beta") { Description = "beta of the tree fusion: beta * (p_tree + s_label) + s_classifier.", DefaultValueFactory = _ => defaults.FusionBeta };
        var sampleRows = new Option<int>("--fusion-sample") { Description = "Training rows (a seeded sample) the fusion tree is fitted on.", DefaultValueFactory = _ => defaults.FusionSampleRows };
        var classifier = new Option<string?>("--classifier") { Description = "The classifier folder of skim classifier train. Defaults to classifier/ in the run folder." };
        var seed = new Option<long>("--seed") { Description = "Seed of the fusion's row sample.", DefaultValueFactory = _ => defaults.Seed };
        var output = new Option<string?>("--out", "-o") { Description = "The score matrix to write. Defaults to {split}_scores.npz in the run folder." };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => defaults.Device };
        var command = new Command("predict", "Score a dataset split with a trained encoder; writes a scipy CSR .npz for skim eval.")
        {
            run, dataset, split, method, topK, neighbours, weight, tune, fusion, beta, sampleRows, classifier, seed, output, device,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new XcPredictOptions
            {
                RunDirectory = parseResult.GetValue(run)!,
                DatasetDirectory = parseResult.GetValue(dataset),
                Split = parseResult.GetValue(split)!,
                Method = XcPredictOptions.ParseMethod(parseResult.GetValue(method)!),
                TopK = parseResult.GetValue(topK),
                Neighbours = parseResult.GetValue(neighbours),
                FusionWeight = parseResult.GetValue(weight),
                TuneFusion = parseResult.GetValue(tune),
                Fusion = XcPredictOptions.ParseFusion(parseResult.GetValue(fusion)!),
                FusionBeta = parseResult.GetValue(beta),
                FusionSampleRows = parseResult.GetValue(sampleRows),
                ClassifierDirectory = parseResult.GetValue(classifier),
                Seed = parseResult.GetValue(seed),
                OutputPath = parseResult.GetValue(output),
                Device = parseResult.GetValue(device)!,
            };
            var result = XcPredictor.Run(options, cancellationToken);
            if (result.Tuning is { } tuning)
            {
                var chosen = tuning.Trials.First(t => t.Weight == tuning.Weight && t.Neighbours == tuning.Neighbours);
                console.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                    $"fusion tuned on {tuning.Rows:N0} validation rows: weight {tuning.Weight}, {tuning.Neighbours} neighbours (validation P@1 {chosen.PrecisionAt1 * 100:F2}, R@k {chosen.Recall * 100:F2}; {tuning.Trials.Count} settings tried)");
            }
            console.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"scored {result.Points:N0} {result.Split} points over {result.Labels:N0} labels ({XcPredictOptions.MethodName(result.Method)}) in {result.Elapsed.TotalSeconds:F1} s: {result.ScoresPath}");
            console.MarkupLineInterpolated($"evaluate with: skim eval --dataset {result.DatasetDirectory} --scores {result.ScoresPath} --split {result.Split}");
            return Task.FromResult(0);
        });
        return command;
    }
}
