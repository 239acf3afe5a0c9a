namespace Skim.Core.IO;

/// <summary>
/// Writes files so that a reader (or a resumed run) sees either the old file or the complete new
/// one, never a torn one: data goes to a temporary name in the same folder and is renamed into place
/// only after it has been flushed to disk.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/> and renames it into place.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var stream = AtomicFileStream.Create(path);
        write(stream);
        stream.Commit();
    }

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/> and renames it into place.</summary>
    public static async Task WriteAsync(string path, Func<Stream, Task> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        await using var stream = AtomicFileStream.Create(path);
        await write(stream).ConfigureAwait(false);
        stream.Commit();
    }

    /// <summary>Writes all of <paramref name="text"/> (UTF-8, no BOM) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            using var writer = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true);
            writer.Write(text);
        });
}

/// <summary>
/// A write-only file stream on a temporary name beside the target. <see cref="Commit"/> flushes and
/// renames it to the target; disposing without committing deletes the temporary file, so a failed
/// writer leaves no partial output.
/// </summary>
public sealed class AtomicFileStream : Stream
{
    private readonly FileStream _inner;
    private readonly string _targetPath;
    private bool _committed;

    private AtomicFileStream(FileStream inner, string targetPath)
    {
        _inner = inner;
        _targetPath = targetPath;
    }

    /// <summary>Gets the path the file will have once committed.</summary>
    public string TargetPath => _targetPath;

    /// <summary>Opens a temporary file beside <paramref name="path"/>, creating the folder if needed.</summary>
    public static AtomicFileStream Create(string path, int bufferSize = 1 << 20)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var inner = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize);
        return new AtomicFileStream(inner, full);
    }

    /// <summary>Flushes the data to disk and renames the temporary file to the target path.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        _inner.Flush(flushToDisk: true);
        var temp = _inner.Name;
        _inner.Dispose();
        File.Move(temp, _targetPath, overwrite: true);
        _committed = true;
    }

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => _inner.CanSeek;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => _inner.Length;

    /// <inheritdoc />
    public override long Position
    {
        get => _inner.Position;
        set => _inner.Position = value;
    }

    /// <inheritdoc />
    public override void Flush() => _inner.Flush();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);

    /// <inheritdoc />
    public override void SetLength(long value) => _inner.SetLength(value);

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);

    /// <inheritdoc />
    public override void WriteByte(byte value) => _inner.WriteByte(value);

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.WriteAsync(buffer, offset, count, cancellationToken);

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.WriteAsync(buffer, cancellationToken);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_committed)
        {
            var temp = _inner.Name;
            _inner.Dispose();
            File.Delete(temp);
            _committed = true;
        }
        base.Dispose(disposing);
    }
}
