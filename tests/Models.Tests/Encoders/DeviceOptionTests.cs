using Skim.Core;
using Skim.Models.Devices;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Encoders;

[Collection(LibTorchCollection.Name)]
public sealed class DeviceOptionTests
{
    [Theory]
    [InlineData("float32", ScalarType.Float32)]
    [InlineData("FP32", ScalarType.Float32)]
    [InlineData("bfloat16", ScalarType.BFloat16)]
    [InlineData("bf16", ScalarType.BFloat16)]
    [InlineData("float16", ScalarType.Float16)]
    [InlineData("half", ScalarType.Float16)]
    public void Dtype_spellings_resolve_to_the_scalar_type(string text, ScalarType expected)
    {
        // Given an option value / When it is parsed / Then it names the type, and the canonical name parses back
        var parsed = TorchDevices.ParseDType(text);
        Assert.Equal(expected, parsed);
        Assert.Equal(expected, TorchDevices.ParseDType(TorchDevices.DTypeName(parsed)));
    }

    [Theory]
    [InlineData("--dtype", "int8", "expected float32|bfloat16|float16")]
    [InlineData("--device", "gpu", "expected auto|cpu|cuda|cuda:N")]
    [InlineData("--device", "cuda:x", "not a non-negative integer")]
    public void Bad_values_are_refused_naming_the_option(string option, string value, string detail)
    {
        // Given a bad value
        // When it is parsed
        var error = Assert.Throws<SkimConfigException>(() =>
        {
            if (option == "--dtype")
            {
                TorchDevices.ParseDType(value);
            }
            else
            {
                TorchDevices.ParseDevice(value);
            }
        });

        // Then the message names the option, the value and what was expected
        Assert.StartsWith($"{option} '{value}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(detail, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cpu_and_auto_resolve_to_a_device_that_exists_here()
    {
        // Given this machine / When cpu and auto are parsed
        var cpu = TorchDevices.ParseDevice("cpu");
        var auto = TorchDevices.ParseDevice("auto");

        // Then cpu is the CPU and auto is CUDA exactly when CUDA is available
        Assert.Equal(TorchSharp.DeviceType.CPU, cpu.type);
        Assert.Equal(cuda.is_available() ? TorchSharp.DeviceType.CUDA : TorchSharp.DeviceType.CPU, auto.type);
    }
}
