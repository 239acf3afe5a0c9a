using System.Text;
using System.Text.Json;
using Skim.Core;

namespace Skim.Generate.Step1;

/// <summary>
/// A shard's <c>generations.jsonl</c>: one <see cref="Step1Record"/> per line, appended a batch at a
/// time and flushed to disk before the batch counts as done, so a killed run loses at most the batch
/// in flight. A last line torn by the kill (no line end, or not JSON) is cut off when the file is opened again.
/// </summary>
public sealed class ShardStateFile : IDisposable
{
    /// <summary>The file name inside a shard folder.</summary>
    public const string FileName = "generations.jsonl";

    private static readonly UTF8Encoding s_utf8 = new(false);
    private readonly FileStream _stream;

    private ShardStateFile(FileStream stream, string path)
    {
        _stream = stream;
        Path = path;
    }

    /// <summary>Gets the file's path.</summary>
    public string Path { get; }

    /// <summary>
    /// Opens (creating it and its folder when missing) the state file at <paramref name="path"/> for
    /// appending, after cutting off a torn last line; returns it with the records already there.
    /// </summary>
    /// <exception cref="SkimFormatException">A line before the last is not a record.</exception>
    public static (ShardStateFile File, List<Step1Record> Records) Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            var (records, goodLength) = ReadRecords(stream, path);
            if (goodLength < stream.Length)
            {
                stream.SetLength(goodLength);
                stream.Flush(flushToDisk: true);
            }
            stream.Seek(0, SeekOrigin.End);
            return (new ShardStateFile(stream, path), records);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads the records of a state file (a torn last line is ignored, not cut).</summary>
    /// <exception cref="SkimFormatException">A line before the last is not a record.</exception>
    public static List<Step1Record> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new SkimFormatException(path, null, "no such shard generations file");
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return ReadRecords(stream, path).Records;
    }

    /// <summary>Appends <paramref name="records"/> and flushes them to disk.</summary>
    public async Task AppendAsync(IEnumerable<Step1Record> records, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(records);
        var text = new StringBuilder();
        foreach (var record in records)
        {
            text.Append(JsonSerializer.Serialize(record)).Append('\n');
        }
        // One write per batch: a kill tears at most its end, which Open cuts off.
        await _stream.WriteAsync(s_utf8.GetBytes(text.ToString()), ct).ConfigureAwait(false);
        _stream.Flush(flushToDisk: true);
    }

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();

    private static (List<Step1Record> Records, long GoodLength) ReadRecords(FileStream stream, string path)
    {
        stream.Seek(0, SeekOrigin.Begin);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        var records = new List<Step1Record>();
        var start = 0;
        var line = 0;
        while (start < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', start);
            line++;
            if (end < 0)
            {
                // No line end: the write of the last batch was cut short.
                return (records, start);
            }
            var record = Parse(bytes.AsSpan(start, end - start));
            if (record is null)
            {
                if (end == bytes.Length - 1)
                {
                    // A complete last line that does not parse is torn too (its bytes were partly written).
                    return (records, start);
                }
                throw new SkimFormatException(path, $"line {line}", "expected a generation record (JSON with item, text, prompt_tokens, generated_tokens, finish_reason)");
            }
            records.Add(record);
            start = end + 1;
        }
        return (records, start);
    }

    private static Step1Record? Parse(ReadOnlySpan<byte> line)
    {
        try
        {
            var record = JsonSerializer.Deserialize<Step1Record>(line);
            return record is { FinishReason.Length: > 0 } ? record : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
