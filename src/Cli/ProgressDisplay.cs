using System.Globalization;
using Spectre.Console;

namespace Skim.Cli;

/// <summary>
/// The one way a verb shows a long stage's progress: on an interactive terminal a bar with
/// "<c>verb done/total unit (rate/s)</c>", elapsed time and ETA, cleared when the stage ends (the
/// verb prints its summary instead); on anything else (a log file, a pipe, CI) nothing, so logs hold
/// results rather than redrawn bars.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>
    /// Runs <paramref name="work"/>, passing it a progress sink when the console is interactive,
    /// and returns its result.
    /// </summary>
    /// <param name="console">Where the bar is drawn.</param>
    /// <param name="verb">What is being done, e.g. "embedding".</param>
    /// <param name="unit">What is counted, e.g. "texts".</param>
    /// <param name="measure">The (done, total) of a progress report.</param>
    /// <param name="work">The stage call, given the sink (null when nothing is shown).</param>
    /// <param name="finalCount">The total of the result, shown last: <see cref="Progress{T}"/> reports arrive asynchronously, and the last one may still be queued when the work returns.</param>
    public static async Task<TResult> RunAsync<TProgress, TResult>(
        IAnsiConsole console,
        string verb,
        string unit,
        Func<TProgress, (long Done, long Total)> measure,
        Func<IProgress<TProgress>?, Task<TResult>> work,
        Func<TResult, long> finalCount)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            return await work(null).ConfigureAwait(false);
        }
        TResult result = default!;
        await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"{verb}: starting", autoStart: true, maxValue: 1);
                void Show(long done, long total)
                {
                    task.MaxValue = Math.Max(1, total);
                    task.Value = done;
                    // Spectre's speed is units per second over the recent samples; the ETA column uses it too.
                    task.Description = string.Create(CultureInfo.InvariantCulture, $"{verb} {done:N0}/{total:N0} {unit} ({task.Speed ?? 0:F0}/s)");
                }
                var progress = new Progress<TProgress>(p =>
                {
                    var (done, total) = measure(p);
                    Show(done, total);
                });
                result = await work(progress).ConfigureAwait(false);
                var count = finalCount(result);
                Show(count, count);
            }).ConfigureAwait(false);
        return result;
    }
}
