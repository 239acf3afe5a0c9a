using System.Collections.Concurrent;
using Skim.Core;
using Skim.Generate.Step1;

namespace Skim.Generate.Backends;

/// <summary>
/// The engines step-1 can run, by the name <see cref="Step1Options.Backend"/> gives: "torch"
/// (<see cref="TorchGenerationBackend"/>), "llamasharp" (<see cref="LlamaSharpBackend"/> over a GGUF
/// export), "openai" (<see cref="OpenAiCompletionsBackend"/>) and "auto" (the fastest allowed one,
/// measured: <see cref="EngineChoice"/>); more can be registered.
/// </summary>
public static class GenerationBackends
{
    private static readonly ConcurrentDictionary<string, Func<Step1Options, IGenerationBackend>> s_factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["torch"] = TorchGenerationBackend.FromStep1Options,
        ["openai"] = OpenAiCompletionsBackend.FromStep1Options,
        ["llamasharp"] = options => EngineChoice.LlamaSharp(options, options.Quant),
        ["auto"] = EngineChoice.Auto,
    };

    /// <summary>Gets the registered names, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. s_factories.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Registers (or replaces) the engine called <paramref name="name"/>.</summary>
    /// <param name="name">The name <see cref="Step1Options.Backend"/> selects it by (case-insensitive).</param>
    /// <param name="factory">Makes the engine for a run's options (loading its model).</param>
    public static void Register(string name, Func<Step1Options, IGenerationBackend> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        s_factories[name] = factory;
    }

    /// <summary>Gets whether an engine called <paramref name="name"/> is registered.</summary>
    public static bool IsRegistered(string name) => s_factories.ContainsKey(name);

    /// <summary>Makes the engine <paramref name="options"/> name.</summary>
    /// <exception cref="SkimConfigException">No engine has that name.</exception>
    public static IGenerationBackend Create(Step1Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!s_factories.TryGetValue(options.Backend, out var factory))
        {
            throw new SkimConfigException($"backend: expected one of {string.Join(", ", Names)}, found '{options.Backend}'");
        }
        return factory(options);
    }
}
