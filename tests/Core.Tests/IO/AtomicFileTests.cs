using Skim.Core.IO;

namespace Skim.Core.Tests.IO;

public sealed class AtomicFileTests
{
    [Fact]
    public void A_committed_file_replaces_the_old_one_and_leaves_no_temporary_file()
    {
        // Given a folder with an existing file
        using var dir = new TempDirectory();
        var path = dir.File("out.txt");
        File.WriteAllText(path, "old");

        // When new content is written atomically
        AtomicFile.WriteAllText(path, "new");

        // Then the target holds the new content and nothing else is in the folder
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void A_writer_that_fails_leaves_the_old_file_untouched_and_no_partial_output()
    {
        // Given a folder with an existing file
        using var dir = new TempDirectory();
        var path = dir.File("out.bin");
        File.WriteAllText(path, "old");

        // When the writer throws half way
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([1, 2, 3]);
            throw new InvalidOperationException("boom");
        }));

        // Then the old file is intact and the temporary file is gone
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void A_new_file_in_a_missing_folder_is_created_with_its_folder()
    {
        // Given a path whose folder does not exist
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "a", "b", "c.txt");

        // When it is written
        AtomicFile.WriteAllText(path, "x");

        // Then the file exists with its content
        Assert.Equal("x", File.ReadAllText(path));
    }
}
