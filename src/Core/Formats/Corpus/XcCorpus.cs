using System.Buffers;
using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;
using Skim.Core.Formats.XcText;
using Skim.Core.IO;

namespace Skim.Core.Formats.Corpus;

/// <summary>
/// Reads and writes XC corpora: one JSON object per line (<c>uid</c>, <c>title</c>, <c>content</c>,
/// <c>target_ind</c>, <c>target_rel</c>), gzip-compressed (<c>*.json.gz</c>, <c>*.jsonl.gz</c>) or not
/// (<c>*.jsonl</c>, <c>*.json</c>).
/// </summary>
/// <remarks>
/// Compression is recognised by the gzip magic bytes, not the name. Blank lines are skipped; unknown
/// keys are ignored; a numeric <c>uid</c> is kept as its text. Written gzip files carry no timestamp,
/// so the same records give the same bytes.
/// </remarks>
public static class XcCorpus
{
    private static readonly JsonWriterOptions s_writerOptions = new()
    {
        // Texts stay readable UTF-8 rather than \uXXXX escapes; the output is still valid JSON.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <summary>Reads every record of <paramref name="path"/>.</summary>
    /// <exception cref="SkimFormatException">A line is not a valid record; the message names the line.</exception>
    public static List<XcCorpusRecord> ReadAll(string path)
    {
        var records = new List<XcCorpusRecord>();
        foreach (var record in Read(path))
        {
            records.Add(record);
        }
        return records;
    }

    /// <summary>Streams the records of <paramref name="path"/> one line at a time.</summary>
    /// <exception cref="SkimFormatException">A line is not a valid record; the message names the line.</exception>
    public static IEnumerable<XcCorpusRecord> Read(string path)
    {
        using var stream = OpenMaybeGzip(path);
        var reader = new Utf8LineReader(stream);
        while (TryReadLine(reader, path, out var line))
        {
            if (IsBlank(line))
            {
                continue;
            }
            yield return Parse(line, path, reader.LineNumber);
        }
    }

    /// <summary>Counts the records (non-blank lines) of <paramref name="path"/> without parsing them.</summary>
    public static int Count(string path)
    {
        using var stream = OpenMaybeGzip(path);
        var reader = new Utf8LineReader(stream);
        var count = 0;
        while (TryReadLine(reader, path, out var line))
        {
            if (!IsBlank(line))
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>
    /// Writes <paramref name="records"/> to <paramref name="path"/> atomically, gzip-compressed when
    /// the name ends in <c>.gz</c>.
    /// </summary>
    public static void Write(string path, IEnumerable<XcCorpusRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        AtomicFile.Write(path, stream =>
        {
            // GZipStream writes a header with a zero timestamp, so the output is reproducible.
            using var compressed = gzip ? new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true) : null;
            var target = (Stream?)compressed ?? stream;
            // Not disposed: that would close the atomic stream before it is committed.
            var buffered = new BufferedStream(target, 1 << 16);
            var buffer = new ArrayBufferWriter<byte>(1 << 12);
            using var json = new Utf8JsonWriter(buffer, s_writerOptions);
            foreach (var record in records)
            {
                buffer.ResetWrittenCount();
                json.Reset(buffer);
                WriteRecord(json, record);
                json.Flush();
                buffered.Write(buffer.WrittenSpan);
                buffered.WriteByte((byte)'\n');
            }
            buffered.Flush();
        });
    }

    /// <summary>Opens <paramref name="path"/> for reading, decompressing when it starts with the gzip magic bytes.</summary>
    internal static Stream OpenMaybeGzip(string path)
    {
        var file = XcSparseText.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        var read = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            return new GZipStream(file, CompressionMode.Decompress, leaveOpen: false);
        }
        return file;
    }

    private static bool TryReadLine(Utf8LineReader reader, string path, out ReadOnlySpan<byte> line)
    {
        try
        {
            return reader.TryReadLine(out line);
        }
        catch (InvalidDataException e)
        {
            throw new SkimFormatException(path, $"line {reader.LineNumber + 1}", $"corrupt gzip data ({e.Message})");
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r"u8).IsEmpty;

    private static void WriteRecord(Utf8JsonWriter json, XcCorpusRecord record)
    {
        json.WriteStartObject();
        json.WriteString("uid"u8, record.Uid);
        json.WriteString("title"u8, record.Title);
        json.WriteString("content"u8, record.Content);
        json.WriteStartArray("target_ind"u8);
        foreach (var label in record.TargetInd)
        {
            json.WriteNumberValue(label);
        }
        json.WriteEndArray();
        json.WriteStartArray("target_rel"u8);
        Span<byte> text = stackalloc byte[PythonNumbers.MaxFloatLength];
        foreach (var relevance in record.TargetRel)
        {
            // Python's float spelling (1.0, not 1): pandas and json.loads then read floats back.
            var length = PythonNumbers.FormatFloat32(relevance, text);
            if (!float.IsFinite(relevance))
            {
                throw new SkimException($"record {record.Uid}: target_rel {relevance} is not a finite number and cannot be written as JSON");
            }
            json.WriteRawValue(text[..length], skipInputValidation: true);
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static XcCorpusRecord Parse(ReadOnlySpan<byte> line, string path, long lineNumber)
    {
        XcSparseText.EnsureUtf8(line, path, lineNumber);
        try
        {
            var reader = new Utf8JsonReader(line, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error(path, lineNumber, "expected a JSON object");
            }
            string uid = "", title = "", content = "";
            int[]? targetInd = null;
            float[]? targetRel = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                switch (key)
                {
                    case "uid":
                        uid = reader.TokenType switch
                        {
                            JsonTokenType.String => reader.GetString()!,
                            JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
                            JsonTokenType.Null => "",
                            _ => throw Error(path, lineNumber, $"\"uid\" must be a string or a number, found {reader.TokenType}"),
                        };
                        break;
                    case "title":
                        title = ReadText(ref reader, path, lineNumber, key);
                        break;
                    case "content":
                        content = ReadText(ref reader, path, lineNumber, key);
                        break;
                    case "target_ind":
                        targetInd = ReadLabelIds(ref reader, path, lineNumber);
                        break;
                    case "target_rel":
                        targetRel = ReadRelevances(ref reader, path, lineNumber);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw Error(path, lineNumber, "expected a JSON object with string keys");
            }
            if (HasMoreTokens(ref reader))
            {
                throw Error(path, lineNumber, "unexpected text after the JSON object (one object per line)");
            }
            targetInd ??= [];
            if (targetRel is null)
            {
                // pyxclib's convention: relevance 1.0 when the corpus does not give one.
                targetRel = new float[targetInd.Length];
                targetRel.AsSpan().Fill(1f);
            }
            else if (targetRel.Length != targetInd.Length)
            {
                throw Error(path, lineNumber, $"\"target_rel\" has {targetRel.Length} values but \"target_ind\" has {targetInd.Length}");
            }
            return new XcCorpusRecord(uid, title, content, targetInd, targetRel);
        }
        catch (JsonException e)
        {
            throw Error(path, lineNumber, $"invalid JSON ({FirstSentence(e.Message)})");
        }
    }

    private static bool HasMoreTokens(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.Read();
        }
        catch (JsonException)
        {
            // Utf8JsonReader refuses a second top-level value outright; that is "more text" too.
            return true;
        }
    }

    private static string ReadText(ref Utf8JsonReader reader, string path, long lineNumber, string key) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString()!,
        JsonTokenType.Null => "",
        _ => throw Error(path, lineNumber, $"\"{key}\" must be a string, found {reader.TokenType}"),
    };

    private static int[] ReadLabelIds(ref Utf8JsonReader reader, string path, long lineNumber)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error(path, lineNumber, $"\"target_ind\" must be an array of label ids, found {reader.TokenType}");
        }
        var ids = new List<int>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var id))
            {
                throw Error(path, lineNumber, $"\"target_ind\" entry {ids.Count} must be an integer label id, found {Describe(ref reader)}");
            }
            if (id < 0)
            {
                throw Error(path, lineNumber, $"\"target_ind\" entry {ids.Count} is negative ({id})");
            }
            ids.Add(id);
        }
        return [.. ids];
    }

    private static float[] ReadRelevances(ref Utf8JsonReader reader, string path, long lineNumber)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error(path, lineNumber, $"\"target_rel\" must be an array of numbers, found {reader.TokenType}");
        }
        var values = new List<float>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var value))
            {
                throw Error(path, lineNumber, $"\"target_rel\" entry {values.Count} must be a number, found {Describe(ref reader)}");
            }
            values.Add((float)value);
        }
        return [.. values];
    }

    private static string Describe(ref Utf8JsonReader reader) =>
        reader.TokenType is JsonTokenType.Number or JsonTokenType.String
            ? XcSparseText.Describe(reader.ValueSpan)
            : reader.TokenType.ToString();

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
    }

    private static SkimFormatException Error(string path, long lineNumber, string problem) => new(path, $"line {lineNumber}", problem);
}
