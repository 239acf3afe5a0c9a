namespace Skim.Core.Tests;

public class SkimExceptionTests
{
    [Fact]
    public void InFile_adds_the_path_to_the_message()
    {
        // Given a data error that knows only the place
        var error = new SkimDataException(null, "row 3, label 7", "score is NaN, expected a number");

        // When the caller that opened the file adds it
        var inFile = error.InFile("scores.npz");

        // Then the message leads with the file, and place and problem are kept
        Assert.Equal("row 3, label 7: score is NaN, expected a number", error.Message);
        Assert.Equal("scores.npz: row 3, label 7: score is NaN, expected a number", inFile.Message);
        Assert.Equal("scores.npz", inFile.Path);
        Assert.Equal("row 3, label 7", inFile.Location);
        Assert.Equal("score is NaN, expected a number", inFile.Problem);
    }

    [Fact]
    public void InFile_keeps_a_path_the_error_already_names()
    {
        // Given a data error that names its file
        var error = new SkimDataException("a.npz", null, "empty");

        // When / Then
        Assert.Same(error, error.InFile("b.npz"));
        Assert.Equal("a.npz: empty", error.Message);
    }
}
