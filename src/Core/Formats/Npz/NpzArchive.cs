using Skim.Core.Formats.Npy;

namespace Skim.Core.Formats.Npz;

/// <summary>
/// Reads the named arrays of an <c>.npz</c> file, as <c>numpy.load(path)[name]</c> does: each
/// member <c>NAME.npy</c> is the array <c>NAME</c>. Members may be stored or deflated; the archive
/// may use ZIP64. Arrays are read one at a time, on demand.
/// </summary>
public sealed class NpzArchive : IDisposable
{
    private readonly ZipReader _zip;

    private NpzArchive(ZipReader zip)
    {
        _zip = zip;
        Names = [.. zip.Entries.Select(e => ArrayName(e.Name))];
    }

    /// <summary>Gets the archive's path.</summary>
    public string Path => _zip.Path;

    /// <summary>Gets the array names in archive order (member names without the <c>.npy</c> suffix).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Opens <paramref name="path"/> and reads its directory.</summary>
    /// <exception cref="SkimFormatException">The file is not a readable zip archive.</exception>
    public static NpzArchive Open(string path) => new(ZipReader.Open(path));

    /// <summary>Gets whether an array called <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => Find(name) is not null;

    /// <summary>Reads the header of array <paramref name="name"/>.</summary>
    /// <exception cref="SkimFormatException">The array is missing or not a supported .npy member.</exception>
    public NpyHeader ReadHeader(string name)
    {
        var entry = Require(name);
        using var stream = _zip.OpenEntry(entry);
        var raw = NpyHeaderCodec.Read(stream, entry.UncompressedSize, Path, entry.Name);
        return NpyHeaderCodec.Resolve(raw, entry.UncompressedSize, Path, entry.Name);
    }

    /// <summary>Reads the whole array <paramref name="name"/>.</summary>
    /// <exception cref="SkimFormatException">The array is missing or not a supported .npy member.</exception>
    public NpyArray Read(string name)
    {
        var entry = Require(name);
        using var stream = _zip.OpenEntry(entry);
        return NpyFile.ReadArray(stream, entry.UncompressedSize, Path, entry.Name);
    }

    /// <inheritdoc />
    public void Dispose() => _zip.Dispose();

    internal ZipEntry? Find(string name) =>
        _zip.Find(name + ".npy") ?? _zip.Find(name);

    internal ZipEntry Require(string name) =>
        Find(name) ?? throw new SkimFormatException(Path, name + ".npy", $"member missing; the archive holds {(Names.Count == 0 ? "no members" : string.Join(", ", Names))}");

    /// <summary>Opens a member and reads its raw header; the stream is left at the data.</summary>
    internal (Stream Stream, NpyRawHeader Header) OpenRaw(ZipEntry entry)
    {
        var stream = _zip.OpenEntry(entry);
        try
        {
            return (stream, NpyHeaderCodec.Read(stream, entry.UncompressedSize, Path, entry.Name));
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static string ArrayName(string member) =>
        member.EndsWith(".npy", StringComparison.Ordinal) ? member[..^4] : member;
}
