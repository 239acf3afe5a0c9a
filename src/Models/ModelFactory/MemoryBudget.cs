using System.Globalization;

namespace Skim.Models.ModelFactory;

/// <summary>How much memory this process can still take, for refusing models that cannot fit before allocating them.</summary>
public static class MemoryBudget
{
    /// <summary>
    /// Gets the available memory in bytes: Linux's <c>MemAvailable</c> (free memory plus reclaimable
    /// caches), bounded by the runtime's limit (a container's cgroup limit); elsewhere the runtime's limit.
    /// </summary>
    public static long Available()
    {
        var runtimeLimit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    var kib = long.Parse(line["MemAvailable:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
                    return Math.Min(kib * 1024, runtimeLimit);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            // Not Linux, or an unusual /proc: the runtime's figure is the best there is.
        }
        return runtimeLimit;
    }

    /// <summary>Formats a byte count as "1.23 GB" (decimal units, as disk and memory sizes are usually quoted).</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1_000_000_000 => (bytes / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + " GB",
        >= 1_000_000 => (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + " MB",
        >= 1_000 => (bytes / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + " kB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
