using System.Text;
using System.Text.Json;
using Skim.Core;

namespace Skim.Distill.Responses;

/// <summary>
/// The append-only <c>responses.jsonl</c>: one <see cref="ResponseRecord"/> per line, each written
/// and fsynced (alone or in a group with the records that arrived meanwhile) before its request counts as done, so a killed run loses at most the answers that
/// were in flight and a restart skips every completed key. The first answered record of a key wins
/// (a key answered twice, after a kill, is counted, not used twice); failed records are retried.
/// </summary>
/// <remarks>
/// Opening checks the file: a last line that is incomplete or unreadable (the run was killed while
/// writing it) is dropped with a warning naming the line and truncated away; an unreadable line
/// anywhere else is a <see cref="SkimFormatException"/> naming file and line. Nothing is created
/// until the first record is appended.
/// </remarks>
public sealed class ResponseStore : IDisposable
{
    /// <summary>The file name in a step-0 folder.</summary>
    public const string FileName = "responses.jsonl";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = false };

    // Lock order: _flushGate, then _gate. _gate guards the in-memory state and the queue of records
    // waiting to be written; _flushGate is held by the one thread that writes and fsyncs the queue.
    private readonly object _gate = new();
    private readonly object _flushGate = new();
    private readonly List<(ResponseRecord Record, byte[] Bytes)> _queue = [];
    private long _queued;
    private long _durable;
    private Exception? _writeFailure;
    private readonly List<ResponseRecord> _records;
    private readonly Dictionary<string, ResponseRecord> _completed;
    private readonly List<string> _warnings;
    private FileStream? _stream;
    private bool _disposed;

    private ResponseStore(string path, List<ResponseRecord> records, List<string> warnings)
    {
        Path = path;
        _records = records;
        _warnings = warnings;
        _completed = new Dictionary<string, ResponseRecord>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            Track(record);
        }
    }

    /// <summary>Gets the file.</summary>
    public string Path { get; }

    /// <summary>Gets every record, in file order.</summary>
    public IReadOnlyList<ResponseRecord> Records
    {
        get
        {
            lock (_gate)
            {
                return [.. _records];
            }
        }
    }

    /// <summary>Gets the warnings of opening (a dropped torn line).</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Gets the number of keys answered.</summary>
    public int CompletedCount
    {
        get
        {
            lock (_gate)
            {
                return _completed.Count;
            }
        }
    }

    /// <summary>Gets the answered records beyond the first of their key (requests paid twice after a kill).</summary>
    public int DuplicateAnswers
    {
        get
        {
            lock (_gate)
            {
                return _records.Count(r => r.IsOk) - _completed.Count;
            }
        }
    }

    /// <summary>Opens (or prepares to create) the store at <paramref name="path"/>, repairing a torn last line.</summary>
    /// <exception cref="SkimFormatException">A line other than the last is not a response record.</exception>
    public static ResponseStore Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var records = new List<ResponseRecord>();
        var warnings = new List<string>();
        if (File.Exists(path))
        {
            var bytes = File.ReadAllBytes(path);
            var start = 0;
            var line = 0;
            long? tornAt = null;
            while (start < bytes.Length)
            {
                line++;
                var end = Array.IndexOf(bytes, (byte)'\n', start);
                var complete = end >= 0;
                var segment = bytes.AsSpan(start, (complete ? end : bytes.Length) - start);
                var isLast = !complete || end + 1 >= bytes.Length;
                var problem = "an incomplete line";
                var record = complete ? TryParse(segment, out problem) : null;
                if (record is null && complete && segment.Trim((byte)'\r').Length == 0 && !isLast)
                {
                    throw new SkimFormatException(path, $"line {line}", "expected a response record, found an empty line");
                }
                if (record is null)
                {
                    if (!isLast)
                    {
                        throw new SkimFormatException(path, $"line {line}", $"expected a response record (one JSON object per line), found {problem}");
                    }
                    // The kill came while this line was being written: nothing on it was acknowledged.
                    warnings.Add($"{path}: line {line} is incomplete (a run was stopped while writing it); dropped, its request will be sent again");
                    tornAt = start;
                    break;
                }
                records.Add(record);
                start = end + 1;
            }
            if (tornAt is { } offset)
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
                stream.SetLength(offset);
                stream.Flush(flushToDisk: true);
            }
        }
        return new ResponseStore(path, records, warnings);
    }

    /// <summary>Gets whether <paramref name="key"/> has an answer.</summary>
    public bool IsCompleted(string key)
    {
        lock (_gate)
        {
            return _completed.ContainsKey(key);
        }
    }

    /// <summary>Gets the answer of <paramref name="key"/> (the first stored), or null.</summary>
    public ResponseRecord? Answer(string key)
    {
        lock (_gate)
        {
            return _completed.GetValueOrDefault(key);
        }
    }

    /// <summary>Appends <paramref name="record"/> and flushes it to disk before returning.</summary>
    /// <remarks>
    /// Group commit: concurrent callers queue their records, and whichever caller takes the flush turn
    /// writes everything queued in one go and fsyncs once; each caller returns only after an fsync that
    /// covered its record, so every acknowledged record is on disk as before, but one fsync serves all
    /// the requests that finished meanwhile (with 64 in flight, the disk's fsync latency no longer caps
    /// the request rate). Records become visible to <see cref="IsCompleted"/> and <see cref="Records"/>
    /// only once durable, in file order.
    /// </remarks>
    /// <exception cref="ObjectDisposedException">The store was closed (the run is being torn down).</exception>
    /// <exception cref="IOException">Writing the file failed (this record, or one written with it, is not stored).</exception>
    public void Append(ResponseRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(record, s_json) + "\n");
        long sequence;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _queue.Add((record, bytes));
            sequence = ++_queued;
        }
        lock (_flushGate)
        {
            if (_durable >= sequence)
            {
                return; // another caller's fsync covered this record
            }
            if (_writeFailure is { } failure)
            {
                throw new IOException($"{Path}: an earlier write to the response store failed ({failure.Message}); the record was not stored", failure);
            }
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
            }
            WriteQueued();
        }
    }

    /// <summary>Writes every queued record and fsyncs once; the caller holds <c>_flushGate</c>.</summary>
    private void WriteQueued()
    {
        List<(ResponseRecord Record, byte[] Bytes)> batch;
        long last;
        lock (_gate)
        {
            batch = [.. _queue];
            _queue.Clear();
            last = _queued;
        }
        if (batch.Count == 0)
        {
            return;
        }
        try
        {
            if (_stream is null)
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
                _stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 1 << 16);
            }
            // The lines go out in queue order and then one fsync: each is durable (or, if the process
            // dies first, at worst a torn last line that the next open drops) before its caller returns.
            foreach (var (_, line) in batch)
            {
                _stream.Write(line);
            }
            _stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _writeFailure = e;
            throw new IOException($"{Path}: writing the response store failed: {e.Message}", e);
        }
        lock (_gate)
        {
            foreach (var (queued, _) in batch)
            {
                _records.Add(queued);
                Track(queued);
            }
        }
        _durable = last;
    }

    /// <summary>Writes the raw bytes of a torn record (tests simulate a kill mid-write with it).</summary>
    internal void AppendTornForTest(ResponseRecord record, int keepBytes)
    {
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(record, s_json));
        lock (_flushGate)
        {
            _stream ??= new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
            _stream.Write(bytes.AsSpan(0, Math.Clamp(keepBytes, 1, bytes.Length - 1)));
            _stream.Flush(flushToDisk: true);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_flushGate)
        {
            lock (_gate)
            {
                _disposed = true;
            }
            // Records queued before the close are answers already received: store them, then close.
            if (_writeFailure is null)
            {
                try
                {
                    WriteQueued();
                }
                catch (IOException)
                {
                    // Recorded in _writeFailure: the callers still waiting are told their records were not stored.
                }
            }
            _stream?.Dispose();
            _stream = null;
        }
    }

    private void Track(ResponseRecord record)
    {
        if (record.IsOk)
        {
            _completed.TryAdd(record.Key, record);
        }
    }

    private static ResponseRecord? TryParse(ReadOnlySpan<byte> line, out string problem)
    {
        problem = "";
        try
        {
            var record = JsonSerializer.Deserialize<ResponseRecord>(line, s_json);
            if (record is null || string.IsNullOrEmpty(record.Key) || record.Uid is null || (record.Status != ResponseRecord.Ok && record.Status != ResponseRecord.Failed))
            {
                problem = "an object without key, uid and status ok/failed";
                return null;
            }
            return record;
        }
        catch (JsonException e)
        {
            problem = $"invalid JSON ({e.Message})";
            return null;
        }
    }
}
