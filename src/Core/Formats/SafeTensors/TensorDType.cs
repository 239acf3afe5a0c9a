namespace Skim.Core.Formats.SafeTensors;

/// <summary>
/// The element types of model weights Skim reads and writes. The names follow the safetensors
/// header spelling (see <see cref="TensorDTypes.SafeTensorsName"/>); PyTorch storages map onto the same set.
/// </summary>
public enum TensorDType
{
    /// <summary>IEEE 754 binary32 (safetensors "F32", torch.float32).</summary>
    Float32,

    /// <summary>IEEE 754 binary16 (safetensors "F16", torch.float16).</summary>
    Float16,

    /// <summary>bfloat16: the upper 16 bits of a binary32 (safetensors "BF16", torch.bfloat16).</summary>
    BFloat16,

    /// <summary>IEEE 754 binary64 (safetensors "F64", torch.float64).</summary>
    Float64,

    /// <summary>Signed 64-bit integer (safetensors "I64", torch.int64).</summary>
    Int64,

    /// <summary>Signed 32-bit integer (safetensors "I32", torch.int32).</summary>
    Int32,

    /// <summary>Signed 16-bit integer (safetensors "I16", torch.int16).</summary>
    Int16,

    /// <summary>Signed 8-bit integer (safetensors "I8", torch.int8).</summary>
    Int8,

    /// <summary>Unsigned 8-bit integer (safetensors "U8", torch.uint8).</summary>
    UInt8,

    /// <summary>Boolean stored as one byte, 0 or 1 (safetensors "BOOL", torch.bool).</summary>
    Bool,
}

/// <summary>Sizes and names of <see cref="TensorDType"/> values.</summary>
public static class TensorDTypes
{
    private static readonly TensorDType[] s_all = Enum.GetValues<TensorDType>();

    /// <summary>Gets every supported element type.</summary>
    public static IReadOnlyList<TensorDType> All => s_all;

    /// <summary>Gets the size of one element in bytes.</summary>
    public static int ElementSize(this TensorDType dtype) => dtype switch
    {
        TensorDType.Float64 or TensorDType.Int64 => 8,
        TensorDType.Float32 or TensorDType.Int32 => 4,
        TensorDType.Float16 or TensorDType.BFloat16 or TensorDType.Int16 => 2,
        TensorDType.Int8 or TensorDType.UInt8 or TensorDType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Gets the dtype's spelling in a safetensors header ("F32", "BF16", ...).</summary>
    public static string SafeTensorsName(this TensorDType dtype) => dtype switch
    {
        TensorDType.Float32 => "F32",
        TensorDType.Float16 => "F16",
        TensorDType.BFloat16 => "BF16",
        TensorDType.Float64 => "F64",
        TensorDType.Int64 => "I64",
        TensorDType.Int32 => "I32",
        TensorDType.Int16 => "I16",
        TensorDType.Int8 => "I8",
        TensorDType.UInt8 => "U8",
        TensorDType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Gets the PyTorch name of the dtype ("float32", "bfloat16", ...).</summary>
    public static string TorchName(this TensorDType dtype) => dtype switch
    {
        TensorDType.Float32 => "float32",
        TensorDType.Float16 => "float16",
        TensorDType.BFloat16 => "bfloat16",
        TensorDType.Float64 => "float64",
        TensorDType.Int64 => "int64",
        TensorDType.Int32 => "int32",
        TensorDType.Int16 => "int16",
        TensorDType.Int8 => "int8",
        TensorDType.UInt8 => "uint8",
        TensorDType.Bool => "bool",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Parses a safetensors header dtype; returns false for names Skim does not support.</summary>
    public static bool TryParseSafeTensorsName(string name, out TensorDType dtype)
    {
        foreach (var candidate in s_all)
        {
            if (string.Equals(candidate.SafeTensorsName(), name, StringComparison.Ordinal))
            {
                dtype = candidate;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    /// <summary>Tells whether the dtype is a floating-point type.</summary>
    public static bool IsFloatingPoint(this TensorDType dtype) =>
        dtype is TensorDType.Float32 or TensorDType.Float16 or TensorDType.BFloat16 or TensorDType.Float64;
}
