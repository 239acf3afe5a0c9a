using System.CommandLine;
using Skim.Pipelines.Definition;
using Skim.Pipelines.Scaleout;
using Spectre.Console;

namespace Skim.Cli;

/// <summary><c>skim pipeline plan FILE --shards N --scheduler slurm|k8s</c>: scripts that run a pipeline on a cluster.</summary>
internal static class ClusterPlanCommand
{
    /// <summary>Builds the <c>plan</c> subcommand.</summary>
    public static Command Create(IAnsiConsole console)
    {
        var defaults = new ClusterPlanOptions { PipelinePath = "", OutputDirectory = "" };
        var file = new Argument<string>("file") { Description = "The pipeline YAML file." };
        var shards = new Option<int>("--shards") { Description = "Shards of each shardable stage (step-1 generation; step-2 embedding and kNN).", DefaultValueFactory = _ => defaults.Shards };
        var scheduler = new Option<string>("--scheduler") { Description = "slurm (array jobs) or k8s (Indexed Jobs).", DefaultValueFactory = _ => "slurm" };
        scheduler.AcceptOnlyFromAmong("slurm", "k8s");
        var output = new Option<string>("--out", "-o") { Description = "The folder the scripts go to.", Required = true };
        var skim = new Option<string>("--skim") { Description = "The command that runs Skim on the nodes.", DefaultValueFactory = _ => defaults.SkimCommand };
        var image = new Option<string>("--image") { Description = "The container image (k8s).", DefaultValueFactory = _ => defaults.Image };
        var set = new Option<string[]>("--set") { Description = "Overrides passed to the pipeline and to every job (name=value or stage.key=value)." };
        var command = new Command("plan", "Write Slurm or Kubernetes scripts that run a pipeline's shardable stages as array jobs, with their merges.") { file, shards, scheduler, output, skim, image, set };
        command.SetAction(parse =>
        {
            var sets = parse.GetValue(set) ?? [];
            var pipeline = PipelineFile.Load(parse.GetValue(file)!, sets);
            var options = new ClusterPlanOptions
            {
                PipelinePath = parse.GetValue(file)!,
                OutputDirectory = parse.GetValue(output)!,
                Shards = parse.GetValue(shards),
                Scheduler = parse.GetValue(scheduler) == "k8s" ? ClusterScheduler.K8s : ClusterScheduler.Slurm,
                SkimCommand = parse.GetValue(skim)!,
                Image = parse.GetValue(image)!,
                Sets = sets,
            };
            var jobs = ClusterPlan.Jobs(pipeline, options);
            var files = ClusterPlan.Write(pipeline, options);
            var table = new Table().AddColumns("job", "tasks", "command");
            foreach (var job in jobs)
            {
                table.AddRow(Markup.Escape(job.Name), job.Tasks.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(job.Command));
            }
            console.Write(table);
            console.MarkupLineInterpolated($"{files.Count} files in {options.OutputDirectory}; submit with {Path.Combine(options.OutputDirectory, "submit.sh")}");
            return 0;
        });
        return command;
    }
}
