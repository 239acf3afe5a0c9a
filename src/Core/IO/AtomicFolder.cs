namespace Skim.Core.IO;

/// <summary>
/// Replaces a folder of files that belong together (a training checkpoint) so that a crash at any
/// moment leaves one complete copy: the new folder is written beside it, the old one is renamed to
/// <c>NAME.old</c>, the new one into place, and only then is the old one deleted. A reader looks for
/// the marker file (written last into the new folder) in <c>NAME</c>, then in <c>NAME.old</c>.
/// </summary>
public static class AtomicFolder
{
    /// <summary>The suffix of the previous copy while a replacement is under way.</summary>
    public const string OldSuffix = ".old";

    /// <summary>Moves the complete <paramref name="staging"/> folder to <paramref name="folder"/>, replacing what was there.</summary>
    public static void Replace(string staging, string folder)
    {
        ArgumentNullException.ThrowIfNull(staging);
        ArgumentNullException.ThrowIfNull(folder);
        var old = folder + OldSuffix;
        if (Directory.Exists(folder))
        {
            if (Directory.Exists(old))
            {
                Directory.Delete(old, recursive: true);
            }
            Directory.Move(folder, old);
        }
        Directory.Move(staging, folder);
        if (Directory.Exists(old))
        {
            Directory.Delete(old, recursive: true);
        }
    }

    /// <summary>Finds the complete copy of folder <paramref name="name"/> in <paramref name="parent"/> (one holding <paramref name="marker"/>), or null.</summary>
    public static string? FindComplete(string parent, string name, string marker)
    {
        foreach (var candidate in new[] { name, name + OldSuffix })
        {
            var folder = Path.Combine(parent, candidate);
            if (File.Exists(Path.Combine(folder, marker)))
            {
                return folder;
            }
        }
        return null;
    }
}
