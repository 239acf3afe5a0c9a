using Skim.Core.Formats.SafeTensors;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Models.Tests.Weights;

[Collection(LibTorchCollection.Name)]
public sealed class TensorConversionTests
{
    [Theory]
    [InlineData(TensorDType.Float16)]
    [InlineData(TensorDType.BFloat16)]
    public void Half_precision_weights_widen_exactly_to_float32_on_load(TensorDType stored)
    {
        // Given values every 16-bit format represents exactly, stored narrow
        float[] values = [1.5f, -2.25f, 0.0f, 1024f, -0.125f, 3f];
        var raw = RawTensor.FromFloat32("w", [2, 3], values, stored);

        // When they are loaded as float32
        using var loaded = TensorConversion.ToTorch(raw, ScalarType.Float32);

        // Then dtype, shape and values are exact
        Assert.Equal(ScalarType.Float32, loaded.dtype);
        Assert.Equal([2L, 3L], loaded.shape);
        Assert.Equal(values, loaded.data<float>().ToArray());
    }

    [Fact]
    public void A_tensor_survives_the_round_trip_to_raw_and_back_in_every_stored_dtype()
    {
        // Given an int64 tensor and a float32 tensor
        using var ints = arange(0L, 12L, dtype: ScalarType.Int64).reshape(3, 4);
        using var floats = linspace(-1, 1, 10, dtype: ScalarType.Float32);

        // When they go to RawTensor and back
        var rawInts = TensorConversion.ToRaw("i", ints);
        var rawFloats = TensorConversion.ToRaw("f", floats, TensorDType.BFloat16);
        using var backInts = TensorConversion.ToTorch(rawInts);
        using var backFloats = TensorConversion.ToTorch(rawFloats, ScalarType.Float32);

        // Then ints are identical and floats equal their bfloat16 rounding
        Assert.Equal(TensorDType.Int64, rawInts.DType);
        Assert.Equal(ints.data<long>().ToArray(), backInts.data<long>().ToArray());
        Assert.Equal(TensorDType.BFloat16, rawFloats.DType);
        using var expected = floats.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32);
        Assert.Equal(expected.data<float>().ToArray(), backFloats.data<float>().ToArray());
    }
}
