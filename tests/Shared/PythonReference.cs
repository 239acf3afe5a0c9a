using System.Diagnostics;

namespace Skim.Tests.Shared;

/// <summary>
/// Runs the independent Python reference (numpy, scipy, PyTorch from Debian's packages) from tests.
/// When the interpreter or a module is missing the test is skipped with the reason, except when
/// SKIM_REQUIRE_REFERENCE=1 (set by CI), where a missing reference fails the test instead.
/// </summary>
public static class PythonReference
{
    private static readonly Dictionary<string, string?> s_missing = [];

    /// <summary>Gets the interpreter: $SKIM_PYTHON, else Debian's /usr/bin/python3 (where apt installs numpy), else python3.</summary>
    public static string Interpreter =>
        Environment.GetEnvironmentVariable("SKIM_PYTHON") is { Length: > 0 } configured ? configured
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3"
        : "python3";

    /// <summary>
    /// Gets the repository root (the folder holding Skim.sln): the one recorded at build time, else
    /// the first folder above the test binaries that holds Skim.sln.
    /// </summary>
    public static string RepositoryRoot
    {
        get
        {
            // The recorded root comes first: with out-of-tree builds (SKIM_BUILD_ROOT) a walk up from
            // the binaries could meet an unrelated Skim.sln.
            var recorded = typeof(PythonReference).Assembly
                .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
                .Cast<System.Reflection.AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "SkimRepositoryRoot")?.Value;
            if (recorded is not null && File.Exists(Path.Combine(recorded, "Skim.sln")))
            {
                return recorded;
            }
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Skim.sln")))
            {
                dir = dir.Parent;
            }
            return dir?.FullName ?? throw new InvalidOperationException("Skim.sln not found at the recorded repository root nor above the test folder");
        }
    }

    /// <summary>Gets the path of a script in bench/reference/.</summary>
    public static string Script(string name) => Path.Combine(RepositoryRoot, "bench", "reference", name);

    /// <summary>Skips (or, under SKIM_REQUIRE_REFERENCE=1, fails) unless every module imports.</summary>
    public static void Require(params string[] modules)
    {
        var key = string.Join(",", modules);
        string? problem;
        lock (s_missing)
        {
            if (!s_missing.TryGetValue(key, out problem))
            {
                problem = Probe(modules);
                s_missing[key] = problem;
            }
        }
        if (problem is null)
        {
            return;
        }
        if (Environment.GetEnvironmentVariable("SKIM_REQUIRE_REFERENCE") == "1")
        {
            Assert.Fail($"reference required (SKIM_REQUIRE_REFERENCE=1) but unavailable: {problem}");
        }
        Skip.If(true, $"reference unavailable: {problem}");
    }

    /// <summary>Runs python with <paramref name="arguments"/>; fails the test with stderr when it exits non-zero.</summary>
    public static string Run(params string[] arguments)
    {
        var (code, stdout, stderr) = RunRaw(arguments);
        if (code != 0)
        {
            Assert.Fail($"python {string.Join(' ', arguments)} exited {code}:\n{stderr}");
        }
        return stdout;
    }

    /// <summary>Runs inline code: <c>python -c code args...</c>.</summary>
    public static string RunCode(string code, params string[] arguments) => Run(["-c", code, .. arguments]);

    private static string? Probe(string[] modules)
    {
        try
        {
            var (code, _, stderr) = RunRaw(["-c", $"import {string.Join(", ", modules)}"]);
            return code == 0 ? null : $"{Interpreter} cannot import {string.Join(", ", modules)}: {stderr.Trim().Split('\n')[^1]}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{Interpreter} not runnable: {e.Message}";
        }
    }

    private static (int Code, string Stdout, string Stderr) RunRaw(string[] arguments)
    {
        var start = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
