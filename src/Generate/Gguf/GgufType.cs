using Skim.Core;

namespace Skim.Generate.Gguf;

/// <summary>The weight types a GGUF export produces.</summary>
public enum GgufType
{
    /// <summary>Every tensor in float32 (exact).</summary>
    F32,

    /// <summary>Matrices in float16, norms and biases in float32.</summary>
    F16,

    /// <summary>llama.cpp's 8-bit blocks of 32 (one scale per block).</summary>
    Q8_0,

    /// <summary>llama.cpp's 4-bit blocks of 32.</summary>
    Q4_0,

    /// <summary>llama.cpp's 4-bit k-quant mix "Q4_K_M" (rows not a multiple of 256 fall back to other types).</summary>
    Q4_K_M,
}

/// <summary>Parses and names <see cref="GgufType"/> values as the CLI spells them.</summary>
public static class GgufTypes
{
    /// <summary>The accepted spellings, for help texts and messages.</summary>
    public const string Choices = "f32|f16|q8_0|q4_0|q4_k_m";

    /// <summary>Parses <paramref name="value"/> (case-insensitive); <paramref name="option"/> names the option in the error.</summary>
    /// <exception cref="SkimConfigException">The value is not one of <see cref="Choices"/>.</exception>
    public static GgufType Parse(string value, string option = "--type")
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToLowerInvariant() switch
        {
            "f32" or "float32" => GgufType.F32,
            "f16" or "float16" => GgufType.F16,
            "q8_0" => GgufType.Q8_0,
            "q4_0" => GgufType.Q4_0,
            "q4_k_m" => GgufType.Q4_K_M,
            _ => throw new SkimConfigException($"{option} '{value}': expected {Choices}"),
        };
    }

    /// <summary>Gets the CLI spelling of <paramref name="type"/> (also used in cached file names).</summary>
    public static string Name(this GgufType type) => type switch
    {
        GgufType.F32 => "f32",
        GgufType.F16 => "f16",
        GgufType.Q8_0 => "q8_0",
        GgufType.Q4_0 => "q4_0",
        GgufType.Q4_K_M => "q4_k_m",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Gets whether <paramref name="type"/> is produced by llama.cpp's quantizer (else written directly).</summary>
    public static bool IsQuantized(this GgufType type) => type is GgufType.Q8_0 or GgufType.Q4_0 or GgufType.Q4_K_M;
}
