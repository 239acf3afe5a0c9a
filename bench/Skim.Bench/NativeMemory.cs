using System.Runtime.InteropServices;

namespace Skim.Bench;

/// <summary>glibc's malloc_trim, for memory readings that do not depend on what the allocator happens to cache.</summary>
internal static class NativeMemory
{
    /// <summary>
    /// Returns the free pages of every malloc arena to the kernel (glibc only; elsewhere nothing
    /// happens). libtorch frees tensors with free(); glibc keeps much of that memory mapped for reuse,
    /// so the resident set after a step says more about the allocator than about what is still held.
    /// </summary>
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl has no malloc_trim): the readings stay untrimmed.
        }
    }

    // "libc.so.6", not "libc": on Debian libc.so is a linker script that dlopen cannot load.
    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
