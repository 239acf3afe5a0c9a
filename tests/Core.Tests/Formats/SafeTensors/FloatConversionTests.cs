using System.Globalization;
using Skim.Core.Formats.SafeTensors;

namespace Skim.Core.Tests.Formats.SafeTensors;

public sealed class FloatConversionTests
{
    // Ties, values just beside ties, subnormals, overflow to infinity, signed zero, infinities.
    private static readonly float[] s_tricky =
    [
        1f, -1f, 0f, -0f, 1.00390625f, 1.01171875f, 1.0039063f, 1.0039062f, 3.14159265f, -2.7182818f,
        65504f, 65519f, 65520f, 1e-8f, 5.9604645e-8f, 2.9802322e-8f, 6.1035156e-5f, 1e30f, -1e38f,
        3.3895314e38f, float.MaxValue, float.Epsilon, 1.17549435e-38f, float.PositiveInfinity, float.NegativeInfinity,
        0.1f, 0.2f, 0.3f, 1234.5678f, -0.0009765625f,
    ];

    [SkippableFact]
    public void Narrowing_to_bfloat16_and_float16_matches_torch_bit_for_bit()
    {
        // Given
        PythonReference.Require("torch");
        var list = string.Join(",", s_tricky.Select(v => BitConverter.SingleToUInt32Bits(v).ToString(CultureInfo.InvariantCulture)));
        const string Code = """
            import sys, torch
            bits = torch.tensor([int(b) for b in sys.argv[1].split(',')], dtype=torch.int64).to(torch.int32)
            values = bits.view(torch.float32)
            bf = values.to(torch.bfloat16).view(torch.int16).to(torch.int64) & 0xFFFF
            hf = values.to(torch.float16).view(torch.int16).to(torch.int64) & 0xFFFF
            print(','.join(map(str, bf.tolist())))
            print(','.join(map(str, hf.tolist())))
            """;

        // When
        var lines = PythonReference.RunCode(Code, list).Trim().Split('\n');
        var ours16 = s_tricky.Select(FloatConversions.Float32ToBFloat16).Select(b => (long)b);
        var oursHalf = s_tricky.Select(FloatConversions.Float32ToFloat16).Select(b => (long)b);

        // Then
        Assert.Equal(lines[0].Split(',').Select(long.Parse), ours16);
        Assert.Equal(lines[1].Split(',').Select(long.Parse), oursHalf);
    }

    [Fact]
    public void Widening_every_bfloat16_and_float16_pattern_then_narrowing_returns_the_same_pattern()
    {
        // Given
        var brainMismatches = 0;
        var halfMismatches = 0;

        // When
        for (var bits = 0; bits <= ushort.MaxValue; bits++)
        {
            var pattern = (ushort)bits;
            var brain = FloatConversions.BFloat16ToFloat32(pattern);
            if (!float.IsNaN(brain) && FloatConversions.Float32ToBFloat16(brain) != pattern)
            {
                brainMismatches++;
            }
            var half = FloatConversions.Float16ToFloat32(pattern);
            if (!float.IsNaN(half) && FloatConversions.Float32ToFloat16(half) != pattern)
            {
                halfMismatches++;
            }
        }

        // Then
        Assert.Equal(0, brainMismatches);
        Assert.Equal(0, halfMismatches);
    }

    [Fact]
    public void A_nan_stays_nan_when_narrowed_to_bfloat16_even_when_only_low_mantissa_bits_are_set()
    {
        // Given
        var nanWithLowBits = BitConverter.UInt32BitsToSingle(0x7F800001);

        // When
        var narrowed = FloatConversions.Float32ToBFloat16(nanWithLowBits);

        // Then
        Assert.True(float.IsNaN(FloatConversions.BFloat16ToFloat32(narrowed)));
    }

    [Fact]
    public void A_bfloat16_tensor_converts_to_float32_exactly_and_to_float64_without_change()
    {
        // Given
        var tensor = RawTensor.FromFloat32("w", [3], [1.5f, -0.007812500f, 256f], TensorDType.BFloat16);

        // When
        var singles = tensor.ToFloat32Array();
        var doubles = tensor.ToFloat64Array();

        // Then
        Assert.Equal(new[] { 1.5f, -0.0078125f, 256f }, singles);
        Assert.Equal(new[] { 1.5, -0.0078125, 256.0 }, doubles);
        Assert.Equal(6, tensor.ByteLength);
    }

    [Fact]
    public void Converting_a_float_tensor_to_int64_is_refused_rather_than_truncated()
    {
        // Given
        var tensor = RawTensor.FromFloat32("w", [1], [1.5f]);

        // When
        var error = Record.Exception(() => tensor.ToInt64Array());

        // Then
        Assert.IsType<InvalidOperationException>(error);
    }
}
