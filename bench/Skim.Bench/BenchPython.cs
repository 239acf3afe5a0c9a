using System.Diagnostics;

namespace Skim.Bench;

/// <summary>Runs a Python reference script for a benchmark and returns what it printed.</summary>
public static class BenchPython
{
    /// <summary>Gets the interpreter: $SKIM_PYTHON, else Debian's /usr/bin/python3, else python3.</summary>
    public static string Interpreter =>
        Environment.GetEnvironmentVariable("SKIM_PYTHON") is { Length: > 0 } configured ? configured
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3"
        : "python3";

    /// <summary>Gets the folder holding the reference scripts (bench/reference).</summary>
    public static string ReferenceDirectory
    {
        get
        {
            // The recorded root comes first: with out-of-tree builds (SKIM_BUILD_ROOT) a walk up from
            // the binaries could meet an unrelated folder.
            var recorded = typeof(BenchPython).Assembly
                .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
                .Cast<System.Reflection.AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "SkimRepositoryRoot")?.Value;
            if (recorded is not null && Directory.Exists(Path.Combine(recorded, "bench", "reference")))
            {
                return Path.Combine(recorded, "bench", "reference");
            }
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "bench", "reference")))
            {
                dir = dir.Parent;
            }
            return dir is not null
                ? Path.Combine(dir.FullName, "bench", "reference")
                : throw new InvalidOperationException("bench/reference not found at the recorded repository root nor above the benchmark binaries");
        }
    }

    /// <summary>
    /// Runs <c>python bench/reference/SCRIPT args</c>, with <paramref name="environment"/>'s changes
    /// (a value to set, null to remove) applied to this process's environment; throws with stderr on failure.
    /// </summary>
    public static async Task<string> RunAsync(string script, IEnumerable<string> arguments, CancellationToken ct, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(ReferenceDirectory, script));
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct).ConfigureAwait(false);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} exited {p.ExitCode}: {await stderr.ConfigureAwait(false)}");
        }
        return await stdout.ConfigureAwait(false);
    }

    /// <summary>
    /// Runs baseline_tuning.py for <paramref name="script"/>: the script runs with
    /// <paramref name="probeArguments"/> (a short version of the benchmark) under each candidate
    /// OpenBLAS core type and OMP_WAIT_POLICY, each in a fresh process, and the fastest setting whose
    /// BLAS products are right is chosen per label. Takes a few seconds per candidate.
    /// </summary>
    public static async Task<BaselineTuning> TuneAsync(string script, IEnumerable<string> probeArguments, CancellationToken ct) =>
        BaselineTuning.Parse(await RunAsync("baseline_tuning.py", ["--script", script, "--", .. probeArguments], ct).ConfigureAwait(false));
}
