using System.Buffers.Binary;
using System.IO.Compression;
using Skim.Core.Reports;

namespace Skim.Core.Tests.Reports;

public sealed class ChartsTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public void A_line_chart_is_a_png_of_the_declared_size_with_drawn_lines()
    {
        using var dir = new TempDirectory();
        var path = dir.File("sub/loss.png");
        double[] x = [0, 1, 2, 3, 4, 5];
        Charts.Line(path, "loss", "step", "loss", [("train", x, [5, 4, 3, 2.5, 2.2, 2]), ("val", x, [5.5, 4.6, 3.9, 3.5, 3.3, 3.2])]);

        AssertPng(path, expectColoredPixels: true);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public void A_histogram_with_a_marker_is_a_png_that_is_not_blank()
    {
        using var dir = new TempDirectory();
        var path = dir.File("hist.png");
        Charts.Histogram(path, "scores", "score", [0, 0.25, 0.5, 0.75, 1], [10, 40, 25, 5], 0.8, "threshold");
        AssertPng(path, expectColoredPixels: true);
    }

    [Fact]
    public void Grouped_bars_render_one_bar_per_series_and_group()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bars.png");
        Charts.GroupedBars(path, "metrics", "value", ["P@1", "P@5", "R@100"], [("base", [0.5, 0.3, 0.7]), ("skim", [0.55, 0.33, 0.8])]);
        AssertPng(path, expectColoredPixels: true);
    }

    [Fact]
    public void Mismatched_series_lengths_are_refused_and_leave_no_file()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.png");
        Assert.Throws<ArgumentException>(() => Charts.GroupedBars(path, "t", "y", ["a", "b"], [("s", [1.0])]));
        Assert.Throws<ArgumentException>(() => Charts.Histogram(path, "t", "x", [0, 1], [1, 2], null, null));
        Assert.Throws<ArgumentException>(() => Charts.Line(path, "t", "x", "y", [("s", [1.0, 2.0], [1.0])]));
        Assert.False(File.Exists(path));
    }

    private static void AssertPng(string path, bool expectColoredPixels)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 33, "too short for a PNG");
        Assert.Equal(PngSignature, bytes[..8]);
        // The first chunk of a PNG is IHDR: length (4), type (4), width (4), height (4), big-endian.
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal(Charts.Width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
        Assert.Equal(Charts.Height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4)));

        var colors = new HashSet<uint>();
        var colored = 0;
        foreach (var (r, g, b) in Pixels(bytes))
        {
            colors.Add((uint)((r << 16) | (g << 8) | b));
            // Saturated pixels are drawn data (lines, bars), not the white/grey/black frame.
            if (Math.Max(r, Math.Max(g, b)) - Math.Min(r, Math.Min(g, b)) > 60)
            {
                colored++;
            }
        }
        Assert.True(colors.Count > 4, $"only {colors.Count} distinct colours: the chart is blank");
        if (expectColoredPixels)
        {
            Assert.True(colored > 400, $"only {colored} coloured pixels: nothing was drawn");
        }
    }

    /// <summary>Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what the charts are) into its pixels.</summary>
    private static IEnumerable<(int R, int G, int B)> Pixels(byte[] png)
    {
        var width = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4));
        var height = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4));
        Assert.Equal(8, png[24]);
        var channels = png[25] switch
        {
            2 => 3,
            6 => 4,
            var other => throw new Xunit.Sdk.XunitException($"unexpected PNG colour type {other}"),
        };
        Assert.Equal(0, png[28]);
        using var idat = new MemoryStream();
        for (var offset = 8; offset < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset, 4));
            var type = System.Text.Encoding.ASCII.GetString(png, offset + 4, 4);
            if (type == "IDAT")
            {
                idat.Write(png, offset + 8, length);
            }
            offset += 12 + length;
        }
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }
        var data = inflated.ToArray();
        var stride = width * channels;
        Assert.Equal(height * (stride + 1), data.Length);
        var previous = new byte[stride];
        var current = new byte[stride];
        for (var y = 0; y < height; y++)
        {
            var filter = data[y * (stride + 1)];
            var raw = data.AsSpan((y * (stride + 1)) + 1, stride);
            for (var x = 0; x < stride; x++)
            {
                int left = x >= channels ? current[x - channels] : 0;
                int up = previous[x];
                int upLeft = x >= channels ? previous[x - channels] : 0;
                var predictor = filter switch
                {
                    0 => 0,
                    1 => left,
                    2 => up,
                    3 => (left + up) / 2,
                    4 => Paeth(left, up, upLeft),
                    _ => throw new Xunit.Sdk.XunitException($"bad PNG filter {filter}"),
                };
                current[x] = (byte)(raw[x] + predictor);
            }
            for (var x = 0; x < width; x += 2)
            {
                yield return (current[x * channels], current[(x * channels) + 1], current[(x * channels) + 2]);
            }
            (previous, current) = (current, previous);
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        var pa = Math.Abs(p - a);
        var pb = Math.Abs(p - b);
        var pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
