using Skim.Core.Formats.Npy;
using Skim.Core.IO;

namespace Skim.Core.Formats.Npz;

/// <summary>
/// Whole-file access to dense <c>.npz</c> archives: <see cref="Save"/> is <c>numpy.savez</c>
/// (or <c>savez_compressed</c>), <see cref="Load"/> reads every array as <c>numpy.load</c> would.
/// </summary>
public static class NpzFile
{
    /// <summary>Reads every array of <paramref name="path"/>, keyed by name, in archive order.</summary>
    /// <exception cref="SkimFormatException">The file is not a readable .npz archive.</exception>
    public static IReadOnlyDictionary<string, NpyArray> Load(string path)
    {
        using var archive = NpzArchive.Open(path);
        var arrays = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        foreach (var name in archive.Names)
        {
            if (!arrays.TryAdd(name, archive.Read(name)))
            {
                throw new SkimFormatException(path, name + ".npy", "member appears twice");
            }
        }
        return arrays;
    }

    /// <summary>
    /// Writes <paramref name="arrays"/> atomically as members <c>NAME.npy</c>, in the given order;
    /// deflated (as <c>numpy.savez_compressed</c>) when <paramref name="compressed"/>, else stored
    /// (as <c>numpy.savez</c>).
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty or repeated.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, NpyArray>> arrays, bool compressed = false)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        var list = arrays.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, array) in list)
        {
            ArgumentNullException.ThrowIfNull(array, name);
            if (string.IsNullOrEmpty(name) || !seen.Add(name))
            {
                throw new ArgumentException($"array names must be non-empty and unique; found '{name}' twice or empty", nameof(arrays));
            }
        }
        AtomicFile.Write(path, stream =>
        {
            var zip = new ZipWriter(stream);
            foreach (var (name, array) in list)
            {
                zip.Add(name + ".npy", compressed, s => NpyFile.WriteArray(s, array, null));
            }
            zip.Finish();
        });
    }
}
