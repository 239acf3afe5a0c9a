using ScottPlot;
using Skim.Core.IO;

namespace Skim.Core.Reports;

/// <summary>
/// The few PNG charts Skim writes (loss curves, score histograms, metric and decile comparisons).
/// Every method renders headless through ScottPlot/SkiaSharp and writes the file atomically, so a
/// report never embeds a torn image. The API is deliberately small: stages pass plain arrays and
/// never see ScottPlot types.
/// </summary>
public static class Charts
{
    /// <summary>Width in pixels of every chart.</summary>
    public const int Width = 800;

    /// <summary>Height in pixels of every chart.</summary>
    public const int Height = 500;

    /// <summary>
    /// Writes a line chart with one line per series (e.g. loss per step for each run).
    /// </summary>
    /// <param name="path">The PNG file to write; its folder is created if needed.</param>
    /// <param name="title">The chart title.</param>
    /// <param name="xLabel">The label of the horizontal axis.</param>
    /// <param name="yLabel">The label of the vertical axis.</param>
    /// <param name="series">The lines: a legend name and equally long X and Y arrays.</param>
    public static void Line(
        string path, string title, string xLabel, string yLabel,
        IReadOnlyList<(string Name, double[] X, double[] Y)> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = NewPlot(title, xLabel, yLabel);
        for (var i = 0; i < series.Count; i++)
        {
            var (name, x, y) = series[i];
            ArgumentNullException.ThrowIfNull(x);
            ArgumentNullException.ThrowIfNull(y);
            if (x.Length != y.Length)
            {
                throw new ArgumentException($"series '{name}' has {x.Length} x values but {y.Length} y values", nameof(series));
            }
            if (x.Length == 0)
            {
                continue;
            }
            var line = plot.Add.Scatter(x, y, Color(i));
            line.LegendText = name;
            line.LineWidth = 2;
            // Markers only help while points are few enough to be told apart.
            line.MarkerSize = x.Length <= 50 ? 5 : 0;
        }
        if (series.Count > 1)
        {
            plot.ShowLegend();
        }
        Save(plot, path);
    }

    /// <summary>
    /// Writes a histogram from precomputed bins, optionally with a vertical marker line (e.g. the
    /// score threshold).
    /// </summary>
    /// <param name="path">The PNG file to write; its folder is created if needed.</param>
    /// <param name="title">The chart title.</param>
    /// <param name="xLabel">The label of the horizontal axis (the binned quantity).</param>
    /// <param name="binEdges">The bin edges, ascending, one more than <paramref name="counts"/>.</param>
    /// <param name="counts">The count in each bin.</param>
    /// <param name="markerX">Where to draw a vertical marker, or null for none.</param>
    /// <param name="markerLabel">The marker's legend text, or null.</param>
    public static void Histogram(
        string path, string title, string xLabel, double[] binEdges, long[] counts,
        double? markerX, string? markerLabel)
    {
        ArgumentNullException.ThrowIfNull(binEdges);
        ArgumentNullException.ThrowIfNull(counts);
        if (binEdges.Length != counts.Length + 1)
        {
            throw new ArgumentException($"{counts.Length} bins need {counts.Length + 1} edges, got {binEdges.Length}", nameof(binEdges));
        }
        var plot = NewPlot(title, xLabel, "count");
        var bars = new List<Bar>(counts.Length);
        for (var i = 0; i < counts.Length; i++)
        {
            var width = binEdges[i + 1] - binEdges[i];
            bars.Add(new Bar
            {
                Position = binEdges[i] + width / 2,
                Value = counts[i],
                Size = width,
                FillColor = Color(0),
                LineWidth = 0,
            });
        }
        plot.Add.Bars(bars);
        plot.Axes.Margins(bottom: 0);
        if (markerX is { } x)
        {
            var marker = plot.Add.VerticalLine(x, 2, Color(3));
            marker.LinePattern = LinePattern.Dashed;
            if (!string.IsNullOrEmpty(markerLabel))
            {
                marker.LegendText = markerLabel;
                plot.ShowLegend();
            }
        }
        Save(plot, path);
    }

    /// <summary>
    /// Writes a grouped bar chart: one group per entry of <paramref name="groups"/> (e.g. a metric
    /// or a decile), one bar per series in each group (e.g. a run).
    /// </summary>
    /// <param name="path">The PNG file to write; its folder is created if needed.</param>
    /// <param name="title">The chart title.</param>
    /// <param name="yLabel">The label of the vertical axis.</param>
    /// <param name="groups">The group names shown under the bars.</param>
    /// <param name="series">The bar series: a legend name and one value per group.</param>
    public static void GroupedBars(
        string path, string title, string yLabel, string[] groups,
        IReadOnlyList<(string Name, double[] Values)> series)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(series);
        var plot = NewPlot(title, string.Empty, yLabel);
        // Each group spans series.Count bars plus one bar's width of gap.
        var stride = series.Count + 1;
        var bars = new List<Bar>(groups.Length * series.Count);
        for (var s = 0; s < series.Count; s++)
        {
            var (name, values) = series[s];
            ArgumentNullException.ThrowIfNull(values);
            if (values.Length != groups.Length)
            {
                throw new ArgumentException($"series '{name}' has {values.Length} values for {groups.Length} groups", nameof(series));
            }
            for (var g = 0; g < groups.Length; g++)
            {
                bars.Add(new Bar
                {
                    Position = g * stride + s,
                    Value = double.IsFinite(values[g]) ? values[g] : 0,
                    FillColor = Color(s),
                    LineWidth = 0,
                });
            }
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = name, FillColor = Color(s) });
        }
        plot.Add.Bars(bars);
        var ticks = new double[groups.Length];
        for (var g = 0; g < groups.Length; g++)
        {
            ticks[g] = g * stride + (series.Count - 1) / 2.0;
        }
        plot.Axes.Bottom.SetTicks(ticks, groups);
        plot.Axes.Margins(bottom: 0);
        if (series.Count > 0)
        {
            plot.ShowLegend();
        }
        Save(plot, path);
    }

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        if (!string.IsNullOrEmpty(xLabel))
        {
            plot.XLabel(xLabel);
        }
        if (!string.IsNullOrEmpty(yLabel))
        {
            plot.YLabel(yLabel);
        }
        return plot;
    }

    private static readonly ScottPlot.Palettes.Category10 Palette = new();

    private static Color Color(int index) => Palette.GetColor(index);

    private static void Save(Plot plot, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
