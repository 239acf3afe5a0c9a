using System.Text.Json;
using System.Text.Json.Serialization;
using Skim.Core;
using Skim.Core.IO;

namespace Skim.Distill.Teachers.Batch;

/// <summary>
/// Where one batch (one request file) stands. The states follow each other in this order, each
/// written to <c>batch_state.json</c> before the next step starts: <see cref="Prepared"/> (request
/// file written locally) → <see cref="Uploaded"/> (file id) → <see cref="Submitted"/> (batch id) →
/// <see cref="Polling"/> (server status and counts) → <see cref="Downloaded"/> (output and error
/// files saved locally) → <see cref="Imported"/> (answers and failures in responses.jsonl); or it
/// ends in <see cref="Failed"/>, <see cref="Expired"/> or <see cref="Cancelled"/> with a reason.
/// </summary>
public sealed record BatchPart
{
    /// <summary>State: the request file is written locally, not uploaded.</summary>
    public const string Prepared = "prepared";

    /// <summary>State: uploaded; <see cref="InputFileId"/> is set.</summary>
    public const string Uploaded = "uploaded";

    /// <summary>State: the batch is created; <see cref="BatchId"/> is set (paid work has begun).</summary>
    public const string Submitted = "submitted";

    /// <summary>State: the server's status was read at least once (<see cref="Status"/>, counts).</summary>
    public const string Polling = "polling";

    /// <summary>State: the server is done and its output and error files are saved locally.</summary>
    public const string Downloaded = "downloaded";

    /// <summary>State: every answer and failure is in the response store (final).</summary>
    public const string Imported = "imported";

    /// <summary>State: the batch failed as a whole (final; its requests are stored as failures).</summary>
    public const string Failed = "failed";

    /// <summary>State: the 24-hour window ended; the partial output was imported, the rest is left for the next run (final).</summary>
    public const string Expired = "expired";

    /// <summary>State: cancelled; the partial output was imported, the rest is left for the next run (final).</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Gets the part number within its round (0, 1, ...).</summary>
    [JsonPropertyName("part")]
    public int Part { get; init; }

    /// <summary>Gets the file name uploaded (unique per part, so a file uploaded before a kill is found by name).</summary>
    [JsonPropertyName("file_name")]
    public required string FileName { get; init; }

    /// <summary>Gets the number of requests in the file.</summary>
    [JsonPropertyName("requests")]
    public int Requests { get; init; }

    /// <summary>Gets the size of the file in bytes.</summary>
    [JsonPropertyName("bytes")]
    public long Bytes { get; init; }

    /// <summary>Gets the state (see the constants).</summary>
    [JsonPropertyName("state")]
    public required string State { get; init; }

    /// <summary>Gets the uploaded file's id.</summary>
    [JsonPropertyName("input_file_id")]
    public string? InputFileId { get; init; }

    /// <summary>Gets the batch id.</summary>
    [JsonPropertyName("batch_id")]
    public string? BatchId { get; init; }

    /// <summary>Gets the server's last status (validating, in_progress, finalizing, completed, ...).</summary>
    [JsonPropertyName("status")]
    public string? Status { get; init; }

    /// <summary>Gets the requests the server counted as answered.</summary>
    [JsonPropertyName("completed")]
    public int Completed { get; init; }

    /// <summary>Gets the requests the server counted as failed.</summary>
    [JsonPropertyName("failed")]
    public int FailedCount { get; init; }

    /// <summary>Gets the server's output file id.</summary>
    [JsonPropertyName("output_file_id")]
    public string? OutputFileId { get; init; }

    /// <summary>Gets the server's error file id.</summary>
    [JsonPropertyName("error_file_id")]
    public string? ErrorFileId { get; init; }

    /// <summary>Gets why the part ended failed, expired or cancelled.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; init; }

    /// <summary>Gets whether the server will not work on the part any more (from <see cref="Downloaded"/> on).</summary>
    [JsonIgnore]
    public bool IsFinal => State is Imported or Failed or Expired or Cancelled;
}

/// <summary>
/// The persisted Batch API state machine of one step-0 folder (<c>batch_state.json</c>): the
/// current round of batches (one per request file, split at the API's limits), written atomically
/// at every transition so that a killed run resumes each batch where it stood and never uploads or
/// submits again what was already submitted.
/// </summary>
public sealed record BatchState
{
    /// <summary>The file name in a step-0 folder.</summary>
    public const string FileName = "batch_state.json";

    /// <summary>The folder (in a step-0 folder) of request, key, output and error files.</summary>
    public const string FolderName = "batch";

    /// <summary>The format tag.</summary>
    public const string CurrentFormat = "skim-batch-state-v1";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    /// <summary>Gets the format tag.</summary>
    [JsonPropertyName("format")]
    public string Format { get; init; } = CurrentFormat;

    /// <summary>Gets the teacher kind the batches went to.</summary>
    [JsonPropertyName("teacher")]
    public required string Teacher { get; init; }

    /// <summary>Gets the endpoint the batches went to.</summary>
    [JsonPropertyName("endpoint")]
    public required string Endpoint { get; init; }

    /// <summary>Gets the round's random tag (part of every file name, so rounds never mix files).</summary>
    [JsonPropertyName("round")]
    public required string Round { get; init; }

    /// <summary>Gets the round's parts.</summary>
    [JsonPropertyName("parts")]
    public IReadOnlyList<BatchPart> Parts { get; init; } = [];

    /// <summary>Gets the batch ids of earlier rounds (for the record).</summary>
    [JsonPropertyName("history")]
    public IReadOnlyList<string> History { get; init; } = [];

    /// <summary>Gets whether every part is final.</summary>
    [JsonIgnore]
    public bool IsFinal => Parts.All(p => p.IsFinal);

    /// <summary>Reads the state of <paramref name="directory"/>, or null when there is none.</summary>
    /// <exception cref="SkimFormatException">The file is not a batch state.</exception>
    public static BatchState? Read(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        BatchState? state;
        try
        {
            state = JsonSerializer.Deserialize<BatchState>(File.ReadAllBytes(path), s_json);
        }
        catch (JsonException e)
        {
            throw new SkimFormatException(path, e.LineNumber is { } line ? $"line {line + 1}" : null, $"expected the batch state ({e.Message}); delete it only after checking the batches it names on the server");
        }
        if (state is null || state.Format != CurrentFormat)
        {
            throw new SkimFormatException(path, null, $"expected format {CurrentFormat}, found {state?.Format ?? "nothing"}");
        }
        return state;
    }

    /// <summary>Writes the state atomically (fsynced, then renamed into place).</summary>
    public void Write(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        AtomicFile.Write(Path.Combine(directory, FileName), stream => JsonSerializer.Serialize(stream, this, s_json));
    }

    /// <summary>Gets a copy with part <paramref name="index"/> replaced.</summary>
    public BatchState With(int index, BatchPart part)
    {
        ArgumentNullException.ThrowIfNull(part);
        var parts = Parts.ToArray();
        parts[index] = part;
        return this with { Parts = parts };
    }

    /// <summary>The local file of a part: <c>batch/{round}-{part}.{suffix}</c> (suffix input.jsonl, keys.jsonl, output.jsonl, errors.jsonl).</summary>
    public string LocalFile(string directory, BatchPart part, string suffix)
    {
        ArgumentNullException.ThrowIfNull(part);
        return Path.Combine(directory, FolderName, $"{Round}-{part.Part:D3}.{suffix}");
    }
}
