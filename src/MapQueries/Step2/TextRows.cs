using System.Text;

namespace Skim.MapQueries.Step2;

/// <summary>Texts read by row range: a list in memory, or a text file read forward line by line (millions of synthetic queries need not fit in memory).</summary>
internal abstract class TextRows : IDisposable
{
    /// <summary>Gets the file or source the texts come from, for error messages.</summary>
    public abstract string Name { get; }

    /// <summary>Wraps texts already in memory.</summary>
    public static TextRows FromList(IReadOnlyList<string> texts, string name) => new ListRows(texts, name);

    /// <summary>Reads <paramref name="path"/> forward; ranges must be asked for in increasing order.</summary>
    public static TextRows FromFile(string path) => new FileRows(path);

    /// <summary>Counts the lines of a UTF-8 text file (as <c>wc -l</c>, plus a last line without newline).</summary>
    public static long CountLines(string path)
    {
        using var reader = Open(path);
        long count = 0;
        while (reader.ReadLine() is not null)
        {
            count++;
        }
        return count;
    }

    /// <summary>Gets rows <paramref name="first"/> .. first + count - 1.</summary>
    public abstract IReadOnlyList<string> Read(long first, int count);

    /// <inheritdoc />
    public virtual void Dispose()
    {
    }

    private static StreamReader Open(string path) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);

    private sealed class ListRows(IReadOnlyList<string> texts, string name) : TextRows
    {
        public override string Name => name;

        public override IReadOnlyList<string> Read(long first, int count) =>
            [.. Enumerable.Range(0, count).Select(i => texts[checked((int)(first + i))])];
    }

    private sealed class FileRows(string path) : TextRows
    {
        private StreamReader? _reader;
        private long _next;

        public override string Name => path;

        public override IReadOnlyList<string> Read(long first, int count)
        {
            if (_reader is null || first < _next)
            {
                _reader?.Dispose();
                _reader = Open(path);
                _next = 0;
            }
            for (; _next < first; _next++)
            {
                if (_reader.ReadLine() is null)
                {
                    throw new IOException($"{path}: ended at line {_next} before line {first + 1}; the file changed while it was being read");
                }
            }
            var lines = new List<string>(count);
            for (var i = 0; i < count; i++, _next++)
            {
                lines.Add(_reader.ReadLine() ?? throw new IOException($"{path}: ended at line {_next} before line {first + count}; the file changed while it was being read"));
            }
            return lines;
        }

        public override void Dispose()
        {
            _reader?.Dispose();
            base.Dispose();
        }
    }
}
