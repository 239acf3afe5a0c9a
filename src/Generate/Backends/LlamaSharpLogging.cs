using LLama.Native;
using Microsoft.Extensions.Logging;

namespace Skim.Generate.Backends;

/// <summary>
/// Where llama.cpp's log lines go. llama.cpp logs per process (model loading, every quantised
/// tensor, KV-cache sizes) and writes to stderr unless told otherwise, so Skim installs one callback
/// before the native library is first used: it drops the lines, or hands them to a logger.
/// </summary>
public static class LlamaSharpLogging
{
    private static readonly Lock s_lock = new();
    private static ILogger? s_logger;
    private static bool s_installed;

    /// <summary>
    /// Sends llama.cpp's log lines to <paramref name="logger"/>, or silences them when it is null.
    /// The setting is process-wide; the last call wins.
    /// </summary>
    public static void Use(ILogger? logger)
    {
        lock (s_lock)
        {
            s_logger = logger;
            EnsureInstalled();
        }
    }

    /// <summary>Installs the callback (silent unless <see cref="Use"/> named a logger) if nothing has yet.</summary>
    public static void EnsureInstalled()
    {
        lock (s_lock)
        {
            if (s_installed)
            {
                return;
            }
            // NativeApi's static constructor selects and loads the native library (CPU features, CUDA);
            // calls such as LLamaQuantizer.Quantize reach llama.cpp without running it, and in a
            // process whose first llama.cpp call is a quantisation they fail with "llama" not found.
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(LLama.Native.NativeApi).TypeHandle);
            NativeLogConfig.llama_log_set(Forward);
            s_installed = true;
        }
    }

    private static void Forward(LLamaLogLevel level, string message)
    {
        var logger = s_logger;
        if (logger is null)
        {
            return;
        }
        // Continue lines (llama.cpp's progress dots) sort above Warning; they are noise, not warnings.
        var mapped = level switch
        {
            LLamaLogLevel.Error => LogLevel.Error,
            LLamaLogLevel.Warning => LogLevel.Warning,
            LLamaLogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        if (logger.IsEnabled(mapped))
        {
            logger.Log(mapped, "{Message}", message.TrimEnd('\n'));
        }
    }
}
