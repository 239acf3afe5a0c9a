using System.Globalization;
using System.Text;
using System.Text.Json;
using Skim.Core.Formats.Npy;

namespace Skim.Core.Tests.Formats.Npy;

/// <summary>Builds sample arrays and raw .npy bytes, runs the numpy side and compares its JSON with our arrays.</summary>
internal static class NpyTestData
{
    public const string Script = "npz_roundtrip.py";

    /// <summary>Parses a comma-separated shape ("" is 0-d).</summary>
    public static long[] Shape(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(d => long.Parse(d, CultureInfo.InvariantCulture))];

    /// <summary>An array of <paramref name="dtype"/> with distinct, exactly representable values (some negative).</summary>
    public static NpyArray Sample(NpyDType dtype, long[] shape)
    {
        var n = (int)(NpyHeader.CountElements(shape) ?? 0);
        var i = Enumerable.Range(0, n);
        Array data = dtype switch
        {
            NpyDType.Bool => i.Select(k => k % 3 == 1).ToArray(),
            NpyDType.UInt8 => i.Select(k => (byte)((k * 13) + 200)).ToArray(),
            NpyDType.Int32 => i.Select(k => (k * 104729) - 7).ToArray(),
            NpyDType.Int64 => i.Select(k => (k * 3_000_000_019L) - (1L << 40)).ToArray(),
            NpyDType.Float16 => i.Select(k => (Half)((k * 0.5f) - 3f)).ToArray(),
            NpyDType.Float32 => i.Select(k => (k * 0.1f) - 2.5f).ToArray(),
            NpyDType.Float64 => i.Select(k => (k * 1e-3) - 1e10).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
        return new NpyArray(data, shape);
    }

    /// <summary>Runs a command of the reference script and parses its JSON.</summary>
    public static JsonElement Python(params string[] arguments) =>
        JsonDocument.Parse(PythonReference.Run([ScriptPath(), .. arguments])).RootElement;

    /// <summary>Gets the path of the reference script.</summary>
    public static string ScriptPath() => PythonReference.Script(Script);

    /// <summary>Asserts that numpy's flat JSON values equal our elements exactly.</summary>
    public static void AssertValues(JsonElement values, Array data)
    {
        var expected = values.EnumerateArray().ToList();
        Assert.Equal(expected.Count, data.Length);
        for (var k = 0; k < expected.Count; k++)
        {
            var e = expected[k];
            var ok = data switch
            {
                bool[] b => e.GetBoolean() == b[k],
                byte[] b => e.GetInt64() == b[k],
                int[] b => e.GetInt64() == b[k],
                long[] b => e.GetInt64() == b[k],
                Half[] b => e.GetDouble() == (double)b[k],
                float[] b => e.GetDouble() == b[k],
                double[] b => e.GetDouble() == b[k],
                _ => false,
            };
            Assert.True(ok, $"element {k}: numpy has {e}, we have {data.GetValue(k)}");
        }
    }

    /// <summary>Asserts that two arrays have the same dtype, shape and elements.</summary>
    public static void AssertSame(NpyArray expected, NpyArray actual)
    {
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.Data.Cast<object>(), actual.Data.Cast<object>());
    }

    /// <summary>Builds an .npy file by hand: magic, version, header text padded as numpy pads it, then data.</summary>
    public static byte[] Raw(string dict, byte[] data, int version = 1, int? claimedHeaderLength = null, string magic = "\x93NUMPY")
    {
        var prefix = 8 + (version == 1 ? 2 : 4);
        var body = dict + " ";
        while ((prefix + body.Length + 1) % 64 != 0)
        {
            body += " ";
        }
        body += "\n";
        using var stream = new MemoryStream();
        stream.Write(Encoding.Latin1.GetBytes(magic));
        stream.WriteByte((byte)version);
        stream.WriteByte(0);
        var length = claimedHeaderLength ?? body.Length;
        if (version == 1)
        {
            stream.Write(BitConverter.GetBytes((ushort)length));
        }
        else
        {
            stream.Write(BitConverter.GetBytes((uint)length));
        }
        stream.Write(Encoding.Latin1.GetBytes(body));
        stream.Write(data);
        return stream.ToArray();
    }
}
