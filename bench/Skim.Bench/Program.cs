using System.Diagnostics;
using Skim.Bench;

// Scenarios are found by reflection so that each lives in its own file.
var scenarios = typeof(IBenchScenario).Assembly.GetTypes()
    .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IBenchScenario).IsAssignableFrom(t))
    .Select(t => (IBenchScenario)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Name, StringComparer.Ordinal)
    .ToList();

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: skim-bench SCENARIO [--work DIR]   (or 'all')");
    foreach (var s in scenarios)
    {
        Console.WriteLine($"  {s.Name,-20} {s.Description}");
    }
    return args.Length == 0 ? 2 : 0;
}

var work = args.Length >= 3 && args[1] == "--work" ? args[2] : Path.Combine(Path.GetTempPath(), "skim-bench");
Directory.CreateDirectory(work);
var selected = args[0] == "all" ? scenarios : scenarios.Where(s => s.Name == args[0]).ToList();
if (selected.Count == 0)
{
    Console.Error.WriteLine($"error: no scenario named '{args[0]}'");
    return 2;
}
foreach (var scenario in selected)
{
    Console.WriteLine($"## {scenario.Name}: {scenario.Description}");
    var clock = Stopwatch.StartNew();
    await scenario.RunAsync(work, Console.Out, CancellationToken.None).ConfigureAwait(false);
    Console.WriteLine($"({scenario.Name} took {clock.Elapsed.TotalSeconds:F1} s)");
}
return 0;
