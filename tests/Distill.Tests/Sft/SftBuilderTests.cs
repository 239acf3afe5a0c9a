using System.Text.Json;
using Skim.Distill.Sft;

namespace Skim.Distill.Tests.Sft;

public sealed class SftBuilderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Prompt = "### URL\nhttps://example.org/loire\n\n### Webpage Text\nThe Loire is the longest river in France and flows through Orleans.\n\n### Task Output";

    [Fact]
    public void Cleaning_drops_each_bad_kind_of_response_and_counts_it()
    {
        // Given one good response and one of each bad kind
        var candidates = new[]
        {
            new SftCandidate(Prompt, "loire river length\nrivers of france", "stop"),
            new SftCandidate(Prompt, "   ", "stop"),
            new SftCandidate(Prompt, "loire river length\nrivers of fr", "length"),
            new SftCandidate(Prompt, "I'm sorry, but I can't help with that.", "stop"),
            new SftCandidate(Prompt, "", "content_filter"),
            new SftCandidate(Prompt, "the loire is the longest river in France and flows", "stop"),
            new SftCandidate(Prompt, "loire\nlongest river", "stop", "loire\nlongest river"),
        };

        // When
        var data = SftBuilder.Build(candidates, new SftOptions());

        // Then
        Assert.Equal(1, data.Kept);
        Assert.Equal("loire river length\nrivers of france", data.Train.Concat(data.Validation).Single().Output);
        Assert.Equal(1, data.Dropped[SftBuilder.Empty]);
        Assert.Equal(1, data.Dropped[SftBuilder.Truncated]);
        Assert.Equal(2, data.Dropped[SftBuilder.Refusal]);
        Assert.Equal(2, data.Dropped[SftBuilder.CopiesInput]);
    }

    [Fact]
    public void The_split_is_seeded_holds_out_at_least_one_record_and_is_written_as_alpaca_arrays()
    {
        // Given 10 good pairs
        var candidates = Enumerable.Range(0, 10).Select(i => new SftCandidate($"prompt {i}", $"query {i}", "stop")).ToList();

        // When split twice with one seed, and written
        var a = SftBuilder.Build(candidates, new SftOptions { Seed = 9 });
        var b = SftBuilder.Build(candidates, new SftOptions { Seed = 9 });
        SftBuilder.Write(a, _dir.File("sft"));

        // Then 5 % of 10 rounds to 0 but one record is held out, the split repeats, and the files hold alpaca fields
        Assert.Equal((9, 1), (a.Train.Count, a.Validation.Count));
        Assert.Equal(a.Validation, b.Validation);
        using var train = JsonDocument.Parse(File.ReadAllText(_dir.File("sft/train.json")));
        var first = train.RootElement[0];
        Assert.Equal(9, train.RootElement.GetArrayLength());
        Assert.StartsWith("prompt ", first.GetProperty("instruction").GetString(), StringComparison.Ordinal);
        Assert.Equal("", first.GetProperty("input").GetString());
        Assert.StartsWith("query ", first.GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.Single(SftBuilder.Read(_dir.File("sft/val.json")));
        Assert.Equal(["train.json", "val.json"], Directory.GetFiles(_dir.File("sft")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_single_record_goes_to_train()
    {
        var data = SftBuilder.Build([new SftCandidate("p", "q", "stop")], new SftOptions());

        Assert.Equal((1, 0), (data.Train.Count, data.Validation.Count));
    }
}
