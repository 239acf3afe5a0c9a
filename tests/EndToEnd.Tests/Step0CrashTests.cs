using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Skim.Distill.Responses;
using Skim.Distill.Tests.Teachers;
using Xunit.Abstractions;

namespace Skim.EndToEnd.Tests;

/// <summary>
/// <c>skim run step-0</c> in a child process against the loopback teacher, stopped at random
/// points by SIGKILL (nothing may be lost; only requests in flight may be paid twice) or SIGTERM
/// (answers in flight are stored before exit, so nothing is paid twice), then run to the end.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class Step0CrashTests(ITestOutputHelper log) : IAsyncLifetime, IDisposable
{
    private const int Items = 60;
    private const int Concurrency = 4;
    private const int Stops = 3;

    private readonly TempDirectory _work = new();
    private TeacherServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TeacherServer.StartAsync();
        // A small delay per answer, so that a stop lands while requests are in flight.
        _server.Handler = async (request, _, context) =>
        {
            await Task.Delay(Random.Shared.Next(60, 140));
            await TeacherServer.Completion(context, "answer for " + TeacherServer.LastLine(request.Prompt));
        };
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
    }

    public void Dispose() => _work.Dispose();

    [Fact]
    public Task A_step0_run_killed_three_times_loses_no_answer_and_repeats_at_most_the_requests_in_flight() => StopAndFinishAsync(sigterm: false);

    [Fact]
    public Task A_step0_run_stopped_with_SIGTERM_three_times_stores_the_answers_in_flight_and_repeats_nothing() => StopAndFinishAsync(sigterm: true);

    private async Task StopAndFinishAsync(bool sigterm)
    {
        var output = Path.Combine(_work.Path, "step0");
        var store = Path.Combine(output, ResponseStore.FileName);

        // Three runs stopped at random points: after about 15, 30 and 45 stored answers.
        var stops = new List<(bool Landed, int Lines, int ExitCode, string Output)>();
        for (var k = 0; k < Stops; k++)
        {
            var target = (15 * (k + 1)) + Random.Shared.Next(-5, 5);
            stops.Add(StopAt(output, store, target, sigterm));
        }
        var beforeFinal = StoredLines(store);

        // The last run goes to the end.
        using (var final = Start(output))
        {
            var text = final.StandardOutput.ReadToEndAsync();
            var errors = final.StandardError.ReadToEndAsync();
            await final.WaitForExitAsync();
            Assert.True(final.ExitCode == 0, $"the final run exited with {final.ExitCode}: {await errors}{await text}");
        }

        // Every stop landed while the run was sending, and the runs before the last left work to do.
        Assert.All(stops, s => Assert.True(s.Landed, $"a stop came after the run had ended ({s.Lines} lines): {s.Output}"));
        if (sigterm)
        {
            Assert.All(stops, s => Assert.True(s.ExitCode == 130, $"SIGTERM: expected the cancelled exit code 130, found {s.ExitCode}: {s.Output}"));
        }
        Assert.InRange(beforeFinal, 1, Items - 1);

        // Every sampled item has exactly one stored answer; none is lost.
        var keys = File.ReadAllLines(Path.Combine(output, "prompts.jsonl")).Select(l => JsonNode.Parse(l)!["key"]!.GetValue<string>()).ToList();
        Assert.Equal(Items, keys.Count);
        using (var responses = ResponseStore.Open(store))
        {
            var answered = responses.Records.Where(r => r.IsOk).GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.Count());
            Assert.All(keys, key => Assert.Equal(1, answered.GetValueOrDefault(key)));
            Assert.Equal(Items, answered.Count);
        }

        // Requests the server answered more than once: at most those in flight at each kill; none after SIGTERM.
        var prompts = File.ReadAllLines(Path.Combine(output, "prompts.jsonl")).Select(l => JsonNode.Parse(l)!["prompt"]!.GetValue<string>()).ToList();
        Assert.All(prompts, p => Assert.True(_server.Answers.GetValueOrDefault(p) >= 1));
        var repeats = _server.Answers.Values.Sum(n => n - 1);
        log.WriteLine($"{(sigterm ? "SIGTERM" : "SIGKILL")}: stored lines at the stops {string.Join(", ", stops.Select(s => s.Lines))}; requests answered twice: {repeats}");
        if (sigterm)
        {
            Assert.Equal(0, repeats);
        }
        else
        {
            Assert.InRange(repeats, 0, Concurrency * Stops);
        }
    }

    // Starts a run, waits (on this thread: async timers lag while the child keeps the cores busy)
    // until the store holds `target` lines, then sends the signal and waits for the exit.
    private (bool Landed, int Lines, int ExitCode, string Output) StopAt(string output, string store, int target, bool sigterm)
    {
        using var child = Start(output);
        var text = child.StandardOutput.ReadToEndAsync();
        var errors = child.StandardError.ReadToEndAsync();
        var landed = false;
        try
        {
            var clock = Stopwatch.StartNew();
            while (!child.HasExited && StoredLines(store) < target && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(2);
            }
            landed = !child.HasExited;
            if (landed)
            {
                if (sigterm)
                {
                    using var kill = Process.Start("kill", ["-TERM", child.Id.ToString(CultureInfo.InvariantCulture)])!;
                    kill.WaitForExit();
                }
                else
                {
                    child.Kill();
                }
            }
        }
        finally
        {
            if (!child.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                child.Kill();
                child.WaitForExit();
            }
        }
        return (landed, StoredLines(store), child.ExitCode, errors.GetAwaiter().GetResult() + text.GetAwaiter().GetResult());
    }

    private Process Start(string output) => Start(output, _server.BaseUrl);

    private static Process Start(string output, string baseUrl)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = PythonReference.RepositoryRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "skim.dll"), "run", "step-0",
            "--dataset", Path.Combine(PythonReference.RepositoryRoot, "artifacts", "datasets", "demo"),
            "--template", Path.Combine(PythonReference.RepositoryRoot, "prompts", "demo-query-generation.txt"),
            "--teacher", "compatible", "--endpoint", baseUrl + "/v1", "--model", "teacher",
            "--items", Items.ToString(CultureInfo.InvariantCulture), "--concurrency", Concurrency.ToString(CultureInfo.InvariantCulture),
            "--seed", "5", "--out", output,
        })
        {
            start.ArgumentList.Add(argument);
        }
        return Process.Start(start) ?? throw new InvalidOperationException("could not start skim");
    }

    private static int StoredLines(string store)
    {
        try
        {
            using var stream = new FileStream(store, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var count = 0;
            var buffer = new byte[1 << 16];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                count += buffer.AsSpan(0, read).Count((byte)'\n');
            }
            return count;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
        catch (DirectoryNotFoundException)
        {
            return 0;
        }
    }
}
