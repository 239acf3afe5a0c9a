using Skim.Core.Datasets;
using Skim.Core.Formats.Corpus;

namespace Skim.Core.Tests.Formats.Corpus;

public class FilterLabelFileTests
{
    [Fact]
    public void An_empty_file_means_no_filter()
    {
        // Given an empty filter file
        using var dir = new TempDirectory();
        var path = dir.File("filter_labels_test.txt");
        File.WriteAllText(path, "");

        // When it is read
        var pairs = FilterLabelFile.Read(path, 10, 10);

        // Then there are no pairs
        Assert.Equal(0, pairs.Count);
    }

    [Fact]
    public void A_one_line_file_is_one_pair()
    {
        // Given a single pair (the case numpy's loadtxt turns into a 1-D array)
        using var dir = new TempDirectory();
        var path = dir.File("filter_labels_test.txt");
        File.WriteAllText(path, "3 7\n");

        // When it is read
        var pairs = FilterLabelFile.Read(path, 10, 10);

        // Then it is that pair
        Assert.Equal([3], pairs.Points);
        Assert.Equal([7], pairs.Labels);
    }

    [Fact]
    public void Tabs_extra_spaces_and_blank_lines_are_accepted_and_writing_round_trips()
    {
        // Given pairs separated by tabs and runs of spaces
        using var dir = new TempDirectory();
        var path = dir.File("f.txt");
        File.WriteAllText(path, "0\t1\n\n  2   3  \r\n4 0");

        // When it is read, written and read again
        var pairs = FilterLabelFile.Read(path);
        FilterLabelFile.Write(dir.File("g.txt"), pairs);

        // Then the pairs are kept and the written file is canonical
        Assert.Equal([0, 2, 4], pairs.Points);
        Assert.Equal([1, 3, 0], pairs.Labels);
        Assert.Equal("0 1\n2 3\n4 0\n", File.ReadAllText(dir.File("g.txt")));
    }

    [Theory]
    [InlineData("0 1\n5 1\n", "line 2", "point 5 is out of range: the split has 5 points")]
    [InlineData("0 9\n", "line 1", "label 9 is out of range: the dataset has 9 labels")]
    [InlineData("0 1 2\n", "line 1", "expected \"<point> <label>\"")]
    [InlineData("0\n", "line 1", "expected \"<point> <label>\"")]
    [InlineData("-1 2\n", "line 1", "expected \"<point> <label>\"")]
    [InlineData("a b\n", "line 1", "expected \"<point> <label>\"")]
    public void Bad_or_out_of_range_pairs_name_the_line(string text, string location, string problem)
    {
        // Given a filter file with a bad pair, for a split of 5 points and 9 labels
        using var dir = new TempDirectory();
        var path = dir.File("filter_labels_test.txt");
        File.WriteAllText(path, text);

        // When it is read
        var error = Assert.Throws<SkimFormatException>(() => FilterLabelFile.Read(path, 5, 9));

        // Then the error names the line and says what is wrong
        Assert.Equal(location, error.Location);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_pairs_are_shared()
    {
        // Given the empty pairs, When counted, Then zero
        Assert.Equal(0, FilterPairs.Empty.Count);
    }
}
