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
    Console.WriteLine("usage: skim-bench SCENARIO [--work DIR] [--quick]   (SCENARIO may be 'all')");
    Console.WriteLine("  --quick   smaller sizes and fewer repeats: checks the plumbing; its numbers are not results");
    foreach (var s in scenarios)
    {
        Console.WriteLine($"  {s.Name,-20} {s.Description}");
    }
    return args.Length == 0 ? 2 : 0;
}

var work = Path.Combine(Path.GetTempPath(), "skim-bench");
for (var i = 1; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--work" when i + 1 < args.Length:
            work = args[++i];
            break;
        case "--quick":
            BenchOptions.Quick = true;
            break;
        default:
            Console.Error.WriteLine($"error: unknown option '{args[i]}'");
            return 2;
    }
}
Directory.CreateDirectory(work);
var selected = args[0] == "all" ? scenarios : scenarios.Where(s => s.Name == args[0]).ToList();
if (selected.Count == 0)
{
    Console.Error.WriteLine($"error: no scenario named '{args[0]}'");
    return 2;
}
foreach (var scenario in selected)
{
    Console.WriteLine($"## {scenario.Name}: {scenario.Description}{(BenchOptions.Quick ? " (--quick: reduced sizes, not results)" : "")}");
    var clock = Stopwatch.StartNew();
    await scenario.RunAsync(work, Console.Out, CancellationToken.None).ConfigureAwait(false);
    Console.WriteLine($"({scenario.Name} took {clock.Elapsed.TotalSeconds:F1} s)");
}
return 0;
