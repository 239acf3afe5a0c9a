using Skim.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Skim.Models.Devices;

/// <summary>
/// Parses the <c>--device</c> and <c>--dtype</c> options every model verb shares:
/// <c>auto|cpu|cuda|cuda:N</c> and <c>float32|bfloat16|float16</c> (with the usual short spellings).
/// </summary>
public static class TorchDevices
{
    /// <summary>Gets the spellings accepted by <see cref="ParseDevice"/>, for help texts.</summary>
    public const string DeviceChoices = "auto|cpu|cuda|cuda:N";

    /// <summary>Gets the spellings accepted by <see cref="ParseDType"/>, for help texts.</summary>
    public const string DTypeChoices = "float32|bfloat16|float16";

    /// <summary>
    /// Resolves a device option. <c>auto</c> picks the first CUDA device when this build and machine
    /// have one, else the CPU; an explicit CUDA device that is not there is refused rather than
    /// silently replaced, so a user never benchmarks the CPU by accident.
    /// </summary>
    /// <param name="value">The option value.</param>
    /// <param name="option">The option's name, used in the error message.</param>
    public static Device ParseDevice(string value, string option = "--device")
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = value.Trim().ToLowerInvariant();
        if (text == "auto")
        {
            return cuda.is_available() ? CUDA : CPU;
        }
        if (text == "cpu")
        {
            return CPU;
        }
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            var index = 0;
            if (text.Length > 4 && (!int.TryParse(text.AsSpan(5), System.Globalization.NumberStyles.None, null, out index)))
            {
                throw new SkimConfigException($"{option} '{value}': expected {DeviceChoices}, found a CUDA index that is not a non-negative integer");
            }
            if (!cuda.is_available())
            {
                throw new SkimConfigException($"{option} '{value}': CUDA is not available here (this build uses the CPU libtorch or no GPU is visible); use --device cpu or auto");
            }
            var count = cuda.device_count();
            if (index >= count)
            {
                throw new SkimConfigException($"{option} '{value}': expected a CUDA index below {count}, found {index}");
            }
            return new Device(DeviceType.CUDA, index);
        }
        throw new SkimConfigException($"{option} '{value}': expected {DeviceChoices}");
    }

    /// <summary>Resolves a dtype option: float32/fp32/f32, bfloat16/bf16, float16/fp16/f16/half.</summary>
    /// <param name="value">The option value.</param>
    /// <param name="option">The option's name, used in the error message.</param>
    public static ScalarType ParseDType(string value, string option = "--dtype")
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToLowerInvariant() switch
        {
            "float32" or "fp32" or "f32" or "float" => ScalarType.Float32,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            "float16" or "fp16" or "f16" or "half" => ScalarType.Float16,
            _ => throw new SkimConfigException($"{option} '{value}': expected {DTypeChoices}"),
        };
    }

    /// <summary>Gets the canonical option spelling of a floating-point dtype (the inverse of <see cref="ParseDType"/>).</summary>
    public static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => dtype.ToString().ToLowerInvariant(),
    };

    /// <summary>Gets the device that builds a model's shape without allocating its weights.</summary>
    public static Device Meta { get; } = new(DeviceType.META);
}
