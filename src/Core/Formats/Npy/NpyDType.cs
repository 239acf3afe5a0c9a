namespace Skim.Core.Formats.Npy;

/// <summary>The element types Skim reads and writes in <c>.npy</c> files (always little-endian).</summary>
public enum NpyDType
{
    /// <summary>numpy <c>bool</c> (<c>|b1</c>), held as <see cref="bool"/>.</summary>
    Bool,

    /// <summary>numpy <c>uint8</c> (<c>|u1</c>), held as <see cref="byte"/>.</summary>
    UInt8,

    /// <summary>numpy <c>int32</c> (<c>&lt;i4</c>), held as <see cref="int"/>.</summary>
    Int32,

    /// <summary>numpy <c>int64</c> (<c>&lt;i8</c>), held as <see cref="long"/>.</summary>
    Int64,

    /// <summary>numpy <c>float16</c> (<c>&lt;f2</c>), held as <see cref="Half"/>.</summary>
    Float16,

    /// <summary>numpy <c>float32</c> (<c>&lt;f4</c>), held as <see cref="float"/>.</summary>
    Float32,

    /// <summary>numpy <c>float64</c> (<c>&lt;f8</c>), held as <see cref="double"/>.</summary>
    Float64,
}

/// <summary>Facts about each <see cref="NpyDType"/>: size, numpy descriptor and .NET element type.</summary>
public static class NpyDTypeExtensions
{
    /// <summary>Gets the size of one element in bytes.</summary>
    public static int ItemSize(this NpyDType dtype) => dtype switch
    {
        NpyDType.Bool or NpyDType.UInt8 => 1,
        NpyDType.Float16 => 2,
        NpyDType.Int32 or NpyDType.Float32 => 4,
        NpyDType.Int64 or NpyDType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Gets the descriptor numpy writes for the type, e.g. <c>&lt;f4</c> or <c>|u1</c>.</summary>
    public static string Descr(this NpyDType dtype) => dtype switch
    {
        NpyDType.Bool => "|b1",
        NpyDType.UInt8 => "|u1",
        NpyDType.Int32 => "<i4",
        NpyDType.Int64 => "<i8",
        NpyDType.Float16 => "<f2",
        NpyDType.Float32 => "<f4",
        NpyDType.Float64 => "<f8",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Gets the .NET element type that holds values of this dtype.</summary>
    public static Type ClrType(this NpyDType dtype) => dtype switch
    {
        NpyDType.Bool => typeof(bool),
        NpyDType.UInt8 => typeof(byte),
        NpyDType.Int32 => typeof(int),
        NpyDType.Int64 => typeof(long),
        NpyDType.Float16 => typeof(Half),
        NpyDType.Float32 => typeof(float),
        NpyDType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Gets the dtype whose values .NET holds as <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException">No dtype maps to <paramref name="type"/>.</exception>
    public static NpyDType FromClrType(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return type == typeof(bool) ? NpyDType.Bool
            : type == typeof(byte) ? NpyDType.UInt8
            : type == typeof(int) ? NpyDType.Int32
            : type == typeof(long) ? NpyDType.Int64
            : type == typeof(Half) ? NpyDType.Float16
            : type == typeof(float) ? NpyDType.Float32
            : type == typeof(double) ? NpyDType.Float64
            : throw new ArgumentException($"no .npy dtype holds {type.Name}; use bool, byte, int, long, Half, float or double", nameof(type));
    }

    /// <summary>Gets the dtype of a descriptor such as <c>&lt;f4</c>; null when Skim does not support it.</summary>
    internal static NpyDType? FromDescr(string descr)
    {
        if (descr.Length < 2 || (descr[0] != '<' && descr[0] != '|'))
        {
            return null;
        }
        return descr.AsSpan(1) switch
        {
            "b1" => NpyDType.Bool,
            "u1" => NpyDType.UInt8,
            "i4" => NpyDType.Int32,
            "i8" => NpyDType.Int64,
            "f2" => NpyDType.Float16,
            "f4" => NpyDType.Float32,
            "f8" => NpyDType.Float64,
            _ => null,
        };
    }
}
