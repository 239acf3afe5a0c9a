using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Skim.Bench;

/// <summary>
/// What bench/reference/baseline_tuning.py found for one Python baseline: every candidate setting
/// (OpenBLAS core type, OMP_WAIT_POLICY) with its kernel, threads, result check and probe rates, and
/// the fastest setting with right results for each label (a batch size, or the scenario's one rate).
/// Ratios are reported against the chosen setting, so that a CPU OpenBLAS misdetects or threads that
/// spin against each other do not make Skim look faster than it is.
/// </summary>
public sealed class BaselineTuning
{
    private readonly JsonElement _root;

    private BaselineTuning(JsonElement root) => _root = root;

    /// <summary>Gets the labels the probe reported rates for, in the script's order.</summary>
    public IReadOnlyList<string> Labels => [.. _root.GetProperty("labels").EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>Gets how many candidate settings were tried.</summary>
    public int CandidateCount => _root.GetProperty("candidates").GetArrayLength();

    /// <summary>Parses baseline_tuning.py's JSON; throws when no candidate computed right results for a label.</summary>
    public static BaselineTuning Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var tuning = new BaselineTuning(document.RootElement.Clone());
        foreach (var label in tuning.Labels)
        {
            if (!tuning._root.GetProperty("chosen").TryGetProperty(label, out _))
            {
                throw new InvalidOperationException($"baseline tuning: no candidate setting gave right results for '{label}' (is OPENBLAS_CORETYPE set to a kernel that is wrong on this CPU?)");
            }
        }
        return tuning;
    }

    /// <summary>Gets the chosen candidate's name for <paramref name="label"/>, e.g. "OMP_WAIT_POLICY=PASSIVE".</summary>
    public string NameFor(string label) => Chosen(label).GetProperty("name").GetString()!;

    /// <summary>Gets the environment changes of the chosen candidate: a value to set, or null to remove the variable.</summary>
    public IReadOnlyDictionary<string, string?> EnvironmentFor(string label) =>
        Chosen(label).GetProperty("env").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.Null ? null : p.Value.GetString());

    /// <summary>
    /// Writes the CPU, the environment as found, one Markdown row per candidate and the choice, so that a
    /// reader sees what the baseline could have been run with and what it was run with.
    /// </summary>
    public void Write(TextWriter output, string title, Func<string, string> rateHeader)
    {
        var cpu = _root.GetProperty("cpu");
        var found = _root.GetProperty("found");
        var cores = string.Join(", ", _root.GetProperty("core_candidates").EnumerateArray().Select(e => e.GetString()));
        output.WriteLine(Invariant($"Baseline tuning ({title}): CPU {cpu.GetProperty("name").GetString()} ({cpu.GetProperty("vendor").GetString()}, family {cpu.GetProperty("family").GetString()}, model {cpu.GetProperty("model").GetString()}); OpenBLAS core types its flags allow: {(cores.Length > 0 ? cores : "none beyond the detected one")}; as found: {string.Join(", ", found.EnumerateObject().Select(p => $"{p.Name}={(p.Value.ValueKind == JsonValueKind.Null ? "unset" : p.Value.GetString())}"))}. Each candidate ran the scenario's script with short arguments in a fresh process."));
        output.WriteLine();
        var labels = Labels;
        output.WriteLine($"| candidate setting | BLAS kernel | threads (torch / BLAS) | OMP_WAIT_POLICY | products right (worst error / bound) | matmul GFLOP/s | {string.Join(" | ", labels.Select(rateHeader))} |");
        output.WriteLine($"| --- | --- | --- | --- | --- | ---: | {string.Join(" | ", labels.Select(_ => "---:"))} |");
        foreach (var candidate in _root.GetProperty("candidates").EnumerateArray())
        {
            var name = candidate.GetProperty("name").GetString();
            if (candidate.GetProperty("error").ValueKind != JsonValueKind.Null)
            {
                output.WriteLine($"| {name} | failed: {candidate.GetProperty("error").GetString()!.Replace('|', '/')} | | | | | {string.Join(" | ", labels.Select(_ => ""))} |");
                continue;
            }
            var baseline = candidate.GetProperty("baseline");
            var rates = candidate.GetProperty("rates");
            var cells = labels.Select(l => rates.TryGetProperty(l, out var r) ? r.GetDouble().ToString("F1", CultureInfo.InvariantCulture) : "");
            output.WriteLine(Invariant($"| {name} | {Kernel(baseline)} | {baseline.GetProperty("torch_threads").GetInt32()} / {BlasThreads(baseline)} | {WaitPolicy(baseline)} | {Check(baseline)} | {baseline.GetProperty("matmul_gflops").GetDouble():F1} | {string.Join(" | ", cells)} |"));
        }
        output.WriteLine();
        output.WriteLine(Invariant($"Chosen (fastest with right results): {string.Join("; ", labels.Select(l => $"{rateHeader(l)} → {NameFor(l)}"))}."));
        output.WriteLine();
    }

    /// <summary>
    /// One line on what a baseline process really ran with (its own report, not the request): BLAS
    /// library and kernel, threads, wait policy and the result check; throws if its results were wrong.
    /// </summary>
    public static string Describe(JsonElement baseline)
    {
        var check = baseline.GetProperty("check");
        if (!check.GetProperty("ok").GetBoolean())
        {
            throw new InvalidOperationException($"the Python baseline computed wrong BLAS products (worst error {check.GetProperty("worst").GetDouble():G3} × the bound): {baseline}");
        }
        var blas = baseline.GetProperty("blas");
        var library = new StringBuilder(blas.GetProperty("library").GetString());
        if (blas.GetProperty("version").ValueKind == JsonValueKind.String)
        {
            library.Append(' ').Append(blas.GetProperty("version").GetString());
        }
        if (blas.GetProperty("threading").ValueKind == JsonValueKind.String)
        {
            library.Append(" (").Append(blas.GetProperty("threading").GetString()).Append(')');
        }
        return Invariant($"{library}, kernel {Kernel(baseline)}, {baseline.GetProperty("torch_threads").GetInt32()} torch threads / {BlasThreads(baseline)} BLAS threads, OMP_WAIT_POLICY {WaitPolicy(baseline)}, BLAS products right (worst error {check.GetProperty("worst").GetDouble():G2} of the bound)");
    }

    private JsonElement Chosen(string label) =>
        _root.GetProperty("candidates")[_root.GetProperty("chosen").GetProperty(label).GetInt32()];

    private static string Kernel(JsonElement baseline) =>
        baseline.GetProperty("blas").GetProperty("kernel") is { ValueKind: JsonValueKind.String } k ? k.GetString()! : "unknown";

    private static string BlasThreads(JsonElement baseline) =>
        baseline.GetProperty("blas").GetProperty("threads") is { ValueKind: JsonValueKind.Number } t ? t.GetInt32().ToString(CultureInfo.InvariantCulture) : "?";

    private static string WaitPolicy(JsonElement baseline) =>
        baseline.GetProperty("env").GetProperty("OMP_WAIT_POLICY") is { ValueKind: JsonValueKind.String } p ? p.GetString()! : "unset";

    private static string Check(JsonElement baseline)
    {
        var check = baseline.GetProperty("check");
        return Invariant($"{(check.GetProperty("ok").GetBoolean() ? "yes" : "NO")} ({check.GetProperty("worst").GetDouble():G2})");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
