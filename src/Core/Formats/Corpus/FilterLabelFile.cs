using System.Globalization;
using System.Text;
using Skim.Core.Datasets;
using Skim.Core.Formats.XcText;
using Skim.Core.IO;

namespace Skim.Core.Formats.Corpus;

/// <summary>
/// Filter-label files (<c>filter_labels_test.txt</c>, <c>filter_labels_train.txt</c>): one
/// whitespace-separated, 0-based <c>point label</c> pair per line. An empty file means no filter,
/// and a file with a single pair is read as one pair (where NGAME's <c>np.loadtxt</c> trips).
/// </summary>
public static class FilterLabelFile
{
    /// <summary>
    /// Reads the pairs of <paramref name="path"/>, checking each against the dataset's shape when
    /// <paramref name="points"/> and <paramref name="labels"/> are given.
    /// </summary>
    /// <exception cref="SkimFormatException">A line is not two integers, or a pair lies outside the shape.</exception>
    public static FilterPairs Read(string path, int? points = null, int? labels = null)
    {
        using var stream = XcSparseText.OpenRead(path);
        var reader = new Utf8LineReader(stream);
        var pointIds = new List<int>();
        var labelIds = new List<int>();
        while (reader.TryReadLine(out var line))
        {
            var number = reader.LineNumber;
            XcSparseText.EnsureUtf8(line, path, number);
            var rest = line.Trim(" \t\r\v\f"u8);
            if (rest.IsEmpty)
            {
                continue;
            }
            var first = NextToken(ref rest);
            var second = NextToken(ref rest);
            if (second.IsEmpty || !NextToken(ref rest).IsEmpty
                || !TryParseId(first, out var point) || !TryParseId(second, out var label))
            {
                throw new SkimFormatException(path, $"line {number}", $"expected \"<point> <label>\" (two non-negative integers), found \"{XcSparseText.Describe(line)}\"");
            }
            if (point >= points)
            {
                throw new SkimFormatException(path, $"line {number}", $"point {point} is out of range: the split has {points} points");
            }
            if (label >= labels)
            {
                throw new SkimFormatException(path, $"line {number}", $"label {label} is out of range: the dataset has {labels} labels");
            }
            pointIds.Add(point);
            labelIds.Add(label);
        }
        return new FilterPairs([.. pointIds], [.. labelIds]);
    }

    /// <summary>Writes <paramref name="pairs"/> to <paramref name="path"/> atomically, one <c>point label</c> line each.</summary>
    public static void Write(string path, FilterPairs pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        AtomicFile.Write(path, stream =>
        {
            // Not disposed: that would close the atomic stream before it is committed.
            var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16);
            for (var k = 0; k < pairs.Count; k++)
            {
                writer.Write(pairs.Points[k].ToString(CultureInfo.InvariantCulture));
                writer.Write(' ');
                writer.Write(pairs.Labels[k].ToString(CultureInfo.InvariantCulture));
                writer.Write('\n');
            }
            writer.Flush();
        });
    }

    private static ReadOnlySpan<byte> NextToken(ref ReadOnlySpan<byte> rest)
    {
        rest = rest.TrimStart(" \t\r\v\f"u8);
        var end = rest.IndexOfAny(" \t\r\v\f"u8);
        if (end < 0)
        {
            end = rest.Length;
        }
        var token = rest[..end];
        rest = rest[end..];
        return token;
    }

    private static bool TryParseId(ReadOnlySpan<byte> text, out int id)
    {
        id = 0;
        if (!PythonNumbers.TryParseInt(text, out var value) || value < 0 || value > int.MaxValue)
        {
            return false;
        }
        id = (int)value;
        return true;
    }
}
