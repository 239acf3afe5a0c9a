using System.Buffers.Binary;
using System.Text;

namespace Skim.Generate.Gguf;

/// <summary>The value types of GGUF metadata (gguf.h's <c>gguf_type</c>).</summary>
internal enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>The tensor element types this writer produces (ggml's <c>ggml_type</c> numbers).</summary>
internal enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
}

/// <summary>One metadata entry: a key, its type and a value (for arrays, the element type and a list).</summary>
internal sealed record GgufMetadataEntry(string Key, GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8);

/// <summary>
/// One tensor to write. <paramref name="Dimensions"/> are in ggml's order, innermost first (an HF
/// weight [out, in] is [in, out] here); <paramref name="WriteData"/> writes exactly
/// <paramref name="ByteCount"/> bytes, so tensors are produced one at a time.
/// </summary>
internal sealed record GgufTensorEntry(string Name, long[] Dimensions, GgmlType Type, long ByteCount, Action<Stream> WriteData);

/// <summary>
/// Writes a GGUF version 3 file (little-endian): magic, version, tensor and metadata counts, the
/// metadata, the tensor table, padding to <see cref="Alignment"/>, then each tensor's data at an
/// aligned offset relative to the start of the data section.
/// </summary>
internal static class GgufFileWriter
{
    /// <summary>The data alignment llama.cpp assumes when general.alignment is absent.</summary>
    public const int Alignment = 32;

    private const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    private const uint Version = 3;

    public static void Write(Stream output, IReadOnlyList<GgufMetadataEntry> metadata, IReadOnlyList<GgufTensorEntry> tensors, CancellationToken ct = default)
    {
        var writer = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write((ulong)tensors.Count);
        writer.Write((ulong)metadata.Count);
        foreach (var entry in metadata)
        {
            WriteString(writer, entry.Key);
            writer.Write((uint)entry.Type);
            WriteValue(writer, entry.Type, entry.Value, entry.ElementType);
        }
        long offset = 0;
        var offsets = new long[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            WriteString(writer, tensor.Name);
            writer.Write((uint)tensor.Dimensions.Length);
            foreach (var dim in tensor.Dimensions)
            {
                writer.Write((ulong)dim);
            }
            writer.Write((uint)tensor.Type);
            writer.Write((ulong)offset);
            offsets[i] = offset;
            offset = Align(offset + tensor.ByteCount);
        }
        writer.Flush();
        Pad(output, Align(output.Position) - output.Position);
        var dataStart = output.Position;
        for (var i = 0; i < tensors.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            Pad(output, dataStart + offsets[i] - output.Position);
            var before = output.Position;
            tensors[i].WriteData(output);
            if (output.Position - before != tensors[i].ByteCount)
            {
                throw new InvalidOperationException($"tensor '{tensors[i].Name}' wrote {output.Position - before} bytes, expected {tensors[i].ByteCount}");
            }
        }
        Pad(output, Align(output.Position - dataStart) - (output.Position - dataStart));
    }

    private static long Align(long value) => (value + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream output, long count)
    {
        for (var i = 0L; i < count; i++)
        {
            output.WriteByte(0);
        }
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static void WriteValue(BinaryWriter writer, GgufValueType type, object value, GgufValueType elementType)
    {
        switch (type)
        {
            case GgufValueType.UInt8: writer.Write(Convert.ToByte(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Int8: writer.Write(Convert.ToSByte(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.UInt16: writer.Write(Convert.ToUInt16(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Int16: writer.Write(Convert.ToInt16(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.UInt32: writer.Write(Convert.ToUInt32(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Int32: writer.Write(Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Float32: writer.Write(Convert.ToSingle(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Bool: writer.Write((bool)value ? (byte)1 : (byte)0); break;
            case GgufValueType.String: WriteString(writer, (string)value); break;
            case GgufValueType.UInt64: writer.Write(Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Int64: writer.Write(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Float64: writer.Write(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Array:
                var items = ((System.Collections.IEnumerable)value).Cast<object>().ToList();
                writer.Write((uint)elementType);
                writer.Write((ulong)items.Count);
                foreach (var item in items)
                {
                    WriteValue(writer, elementType, item, GgufValueType.UInt8);
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "unknown GGUF value type");
        }
    }

    /// <summary>Reads the version and key names of a GGUF file's header (for checks and tests).</summary>
    public static (uint Version, ulong Tensors, ulong Metadata) ReadHeader(Stream input)
    {
        Span<byte> header = stackalloc byte[24];
        input.ReadExactly(header);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
        {
            throw new InvalidDataException("not a GGUF file (bad magic)");
        }
        return (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]), BinaryPrimitives.ReadUInt64LittleEndian(header[8..]), BinaryPrimitives.ReadUInt64LittleEndian(header[16..]));
    }
}
