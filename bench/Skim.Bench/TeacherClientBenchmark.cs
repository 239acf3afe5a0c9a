using System.Diagnostics;
using System.Globalization;
using Skim.Core.Stages;
using Skim.Distill.Responses;
using Skim.Distill.Teachers;

namespace Skim.Bench;

/// <summary>
/// Issue 7's client-overhead benchmark: how many teacher requests per second step-0's live path
/// completes when the teacher answers at once. An in-process Kestrel server on loopback
/// (<see cref="TeacherLoopbackServer"/>) answers every chat completion with the same small body;
/// Skim's real path — the <c>compatible</c> client with its Polly pipeline (concurrency limiter,
/// retry, timeout), driven by <see cref="ResponseCollector"/> into a <see cref="ResponseStore"/> that
/// fsyncs every record, as in production — runs 64 requests in flight. Then the same path with the
/// store on tmpfs (where fsync returns at once), the client alone (no collector, no store) and the
/// store alone (appends of the same records, one fsync each), so that the output says where the
/// time goes. There is no Python side: the target is absolute (≥ 500 completed requests/s).
/// </summary>
public sealed class TeacherClientBenchmark : IBenchScenario
{
    private const int Concurrency = 64;
    private const double TargetPerSecond = 500;
    private const string ModelName = "bench-teacher";
    private const string Template = "Generate five search queries a user might type to find this item.\nTitle: {title}\nDescription: {content}\nQueries:";

    // --quick: a tenth of the requests, enough to see every phase run.
    private static int Requests => BenchOptions.Quick ? 2_000 : 20_000;

    private static int WarmUpRequests => BenchOptions.Quick ? 200 : 1_000;

    /// <inheritdoc />
    public string Name => "teacher-client";

    /// <inheritdoc />
    public string Description => "step-0 teacher client overhead: completed requests/s with 64 in flight against an instant loopback server, fsynced store (target >= 500/s)";

    /// <inheritdoc />
    public async Task RunAsync(string workDirectory, TextWriter output, CancellationToken ct)
    {
        var dir = Path.Combine(workDirectory, "teacher-client");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);
        var loadBefore = LoadAverage();
        var settings = new TeacherSettings();

        await using var server = await TeacherLoopbackServer.StartAsync(ct).ConfigureAwait(false);
        using var client = TeacherClients.Create(new TeacherClientOptions
        {
            Kind = TeacherClientOptions.Compatible,
            Endpoint = server.Endpoint,
            Model = ModelName,
            Concurrency = Concurrency,
        });
        using var timed = new TeacherTimingClient(client, Math.Max(Requests, WarmUpRequests));

        // Warm-up: JIT, the 64 connections and the thread pool's growth are not what is measured.
        await CollectAsync(timed, Path.Combine(dir, "warm-up", ResponseStore.FileName), MakeRequests("warm-up", WarmUpRequests, settings), settings, ct).ConfigureAwait(false);

        var diskPath = Path.Combine(dir, "disk", ResponseStore.FileName);
        var full = await CollectAsync(timed, diskPath, MakeRequests("disk", Requests, settings), settings, ct).ConfigureAwait(false);
        // Right after the full path, on the same disk: fsync times drift with other disk traffic.
        var storeOnly = StoreAlone(Path.Combine(dir, "store", ResponseStore.FileName), MakeRequests("store", Requests, settings), server);

        Phase? tmpfs = null;
        var shm = Path.Combine("/dev/shm", $"skim-bench-teacher-{Environment.ProcessId}");
        if (Directory.Exists("/dev/shm"))
        {
            try
            {
                tmpfs = await CollectAsync(timed, Path.Combine(shm, ResponseStore.FileName), MakeRequests("tmpfs", Requests, settings), settings, ct).ConfigureAwait(false);
            }
            finally
            {
                Directory.Delete(shm, recursive: true);
            }
        }

        var clientOnly = await ClientAloneAsync(timed, MakeRequests("client", Requests, settings), settings, ct).ConfigureAwait(false);
        var loadAfter = LoadAverage();

        var fileSystem = FileSystemOf(diskPath);
        output.WriteLine(Invariant($"{Requests:N0} requests per phase after {WarmUpRequests:N0} warm-up requests; {Concurrency} in flight; prompts of about {MakeRequests("size", 1, settings)[0].Prompt.Length} characters; every answer the same {server.Body.Length}-byte chat completion from an in-process Kestrel server on loopback (its CPU time counts in the process's). Client: TeacherClients.Create(kind compatible, concurrency {Concurrency}, default retries and timeout) — HttpClient, System.Text.Json, Polly 8 concurrency limiter + retry + timeout; ResponseCollector as step-0 runs it (progress reported per request). Store: {diskPath} ({fileSystem}). {Environment.ProcessorCount} cores; load average {loadBefore} before, {loadAfter} after."));
        output.WriteLine();
        output.WriteLine(Invariant($"| teacher path, {Concurrency} in flight, {Requests:N0} requests | requests/s | p50 (ms) | p99 (ms) | mean time per request in flight, {Concurrency} / rate (ms) | CPU ms per request |"));
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        Row(output, $"Skim: compatible client → ResponseCollector → ResponseStore, fsync per record ({fileSystem}); latency of the teacher call", full, Concurrency);
        if (tmpfs is not null)
        {
            Row(output, "the same, store on tmpfs (/dev/shm: fsync returns at once)", tmpfs, Concurrency);
        }
        Row(output, "compatible client alone (Polly pipeline, HTTP, JSON; no collector, no store)", clientOnly, Concurrency);
        Row(output, $"ResponseStore.Append alone, one writer, fsync per record ({fileSystem}); latency of one append", storeOnly, 1);
        output.WriteLine();
        var met = full.Rate >= TargetPerSecond;
        output.WriteLine(Invariant($"Target ≥ {TargetPerSecond:F0} completed requests/s with {Concurrency} in flight (first row): {(met ? "met" : "NOT met")} ({full.Rate:F0}/s)."));
        output.WriteLine(Invariant($"Where the time goes, per completed request (wall time): full path {1000 / full.Rate:F3} ms{(tmpfs is null ? "" : Invariant($", of which about {Math.Max(0, (1000 / full.Rate) - (1000 / tmpfs.Rate)):F3} ms is the disk flush (full path on disk minus on tmpfs)"))}; client alone {1000 / clientOnly.Rate:F3} ms; one fsynced append {storeOnly.Mean:F3} ms on average. ResponseStore.Append group-commits: whoever takes the flush turn writes every record queued meanwhile and fsyncs once, so with many requests in flight one fsync serves several of them; a single writer waits for one fsync per record: {storeOnly.Rate:F0} appends/s when the store ran alone right after it (fsync times drift with other disk traffic)."));
    }

    private static async Task<Phase> CollectAsync(TeacherTimingClient client, string storePath, List<TeacherRequest> requests, TeacherSettings settings, CancellationToken ct)
    {
        using var store = ResponseStore.Open(storePath);
        client.Reset();
        var progress = new LastProgress();
        var cpu = CpuSeconds();
        var clock = Stopwatch.StartNew();
        var result = await ResponseCollector.RunAsync(client, store, requests, settings, Concurrency, new TokenPrices(), progress, ct).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = CpuSeconds() - cpu;
        if (result.Answered != requests.Count || result.Failed != 0 || store.CompletedCount != requests.Count || progress.Done != requests.Count)
        {
            throw new InvalidOperationException(Invariant($"the collection answered {result.Answered} and failed {result.Failed} of {requests.Count} requests ({string.Join(", ", result.FailureReasons.Select(r => $"{r.Key} {r.Value}"))}); the store holds {store.CompletedCount}"));
        }
        return new Phase(requests.Count, seconds, client.Milliseconds, cpuSeconds);
    }

    // 64 callers, each taking the next request as soon as its last one is answered: the client's own
    // cost at the same concurrency, without the collector's bookkeeping or the store.
    private static async Task<Phase> ClientAloneAsync(TeacherTimingClient client, List<TeacherRequest> requests, TeacherSettings settings, CancellationToken ct)
    {
        client.Reset();
        var next = -1;
        var answered = 0;
        var cpu = CpuSeconds();
        var clock = Stopwatch.StartNew();
        var callers = Enumerable.Range(0, Concurrency).Select(_ => Task.Run(
            async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests.Count)
                {
                    var answer = await client.CompleteAsync(requests[i].Prompt, settings, ct).ConfigureAwait(false);
                    if (answer.Texts.Count == 1)
                    {
                        Interlocked.Increment(ref answered);
                    }
                }
            },
            ct));
        await Task.WhenAll(callers).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = CpuSeconds() - cpu;
        if (answered != requests.Count)
        {
            throw new InvalidOperationException(Invariant($"the client answered {answered} of {requests.Count} requests"));
        }
        return new Phase(requests.Count, seconds, client.Milliseconds, cpuSeconds);
    }

    // The records the collector would append for these requests (the server's answer parsed once),
    // appended one after another: each Append serialises, writes and fsyncs one line.
    private static Phase StoreAlone(string storePath, List<TeacherRequest> requests, TeacherLoopbackServer server)
    {
        var answer = ChatCompletionsProtocol.Parse(200, System.Text.Encoding.UTF8.GetString(server.Body), null);
        var records = requests.Select(r => new ResponseRecord
        {
            Key = r.Key,
            Index = r.Index,
            Uid = r.Uid,
            Status = ResponseRecord.Ok,
            Responses = answer.Texts,
            FinishReason = answer.FinishReason,
            InputTokens = answer.InputTokens,
            OutputTokens = answer.OutputTokens,
            Model = ModelName,
        }).ToList();
        using var store = ResponseStore.Open(storePath);
        var milliseconds = new double[records.Count];
        var cpu = CpuSeconds();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < records.Count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            store.Append(records[i]);
            milliseconds[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = CpuSeconds() - cpu;
        if (store.CompletedCount != records.Count)
        {
            throw new InvalidOperationException(Invariant($"the store holds {store.CompletedCount} of {records.Count} records"));
        }
        return new Phase(records.Count, seconds, milliseconds, cpuSeconds);
    }

    // Distinct items per phase (the phase name is in the uid), so no phase finds answers of another
    // in its store; keys computed as step-0 computes them, before any clock starts.
    private static List<TeacherRequest> MakeRequests(string phase, int count, TeacherSettings settings) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var uid = Invariant($"{phase}-{i}");
            var prompt = Template
                .Replace("{title}", Invariant($"Insulated stainless steel water bottle, model {i}"), StringComparison.Ordinal)
                .Replace("{content}", Invariant($"Double-walled vacuum bottle {i} keeps drinks cold for 24 hours and hot for 12. Leak-proof lid with a carry loop, powder-coated finish that does not sweat, fits most cup holders. Free of BPA; the wide mouth takes ice cubes and is easy to clean."), StringComparison.Ordinal);
            return new TeacherRequest(RequestKey.Compute(Template, uid, prompt, ModelName, settings), i, uid, prompt);
        })];

    private static void Row(TextWriter output, string label, Phase phase, int inFlight) =>
        output.WriteLine(Invariant($"| {label} | {phase.Rate:F0} | {phase.Percentile(0.50):F2} | {phase.Percentile(0.99):F2} | {(inFlight > 1 ? Invariant($"{1000.0 * inFlight / phase.Rate:F2}") : "")} | {1000 * phase.CpuSeconds / phase.Count:F3} |"));

    private static double CpuSeconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }

    // "ext4 on /dev/vda": the mount holding the path (the longest mount point that is a prefix of it).
    private static string FileSystemOf(string path)
    {
        if (!File.Exists("/proc/mounts"))
        {
            return "file system unknown";
        }
        var full = Path.GetFullPath(path);
        var best = (Point: "", Text: "file system unknown");
        foreach (var line in File.ReadLines("/proc/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length < 3)
            {
                continue;
            }
            var point = fields[1].Replace("\\040", " ", StringComparison.Ordinal);
            var isPrefix = point == "/" || full == point || full.StartsWith(point + "/", StringComparison.Ordinal);
            if (isPrefix && point.Length >= best.Point.Length)
            {
                best = (point, $"{fields[2]} on {fields[0]}, mounted at {point}");
            }
        }
        return best.Text;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>One measured phase: how many operations in how long, each one's time, and the process's CPU time.</summary>
    private sealed record Phase(int Count, double Seconds, double[] Milliseconds, double CpuSeconds)
    {
        private readonly double[] _sorted = [.. Milliseconds.Order()];

        public double Rate => Count / Seconds;

        public double Mean => Milliseconds.Length == 0 ? double.NaN : Milliseconds.Average();

        // Nearest rank.
        public double Percentile(double q) =>
            _sorted.Length == 0 ? double.NaN : _sorted[Math.Clamp((int)Math.Ceiling(q * _sorted.Length) - 1, 0, _sorted.Length - 1)];
    }

    // Keeps the highest count reported, as a progress display shows it; the collector builds each
    // report (its detail text included) per request, as in step-0.
    private sealed class LastProgress : IProgress<StageProgress>
    {
        private long _done = -1;

        public long Done => Interlocked.Read(ref _done);

        public void Report(StageProgress value)
        {
            long seen;
            while (value.Done > (seen = Interlocked.Read(ref _done)) && Interlocked.CompareExchange(ref _done, value.Done, seen) != seen)
            {
            }
        }
    }
}
