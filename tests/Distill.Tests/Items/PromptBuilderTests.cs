using Skim.Core;
using Skim.Distill.Items;
using Skim.Distill.Prompts;
using Skim.Models.Tokenization;

namespace Skim.Distill.Tests.Items;

public sealed class PromptBuilderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static PromptItem Item(string text = "The Loire is the longest river in France.") => new(3, "page-3", new Dictionary<string, string>
    {
        [PromptItems.UidField] = "page-3",
        [PromptItems.TitleField] = "Loire",
        [PromptItems.ContentField] = text,
        [PromptItems.TextField] = "Loire " + text,
        [PromptItems.UrlField] = "https://example.org/loire",
        [PromptItems.KnownQueriesField] = "loire\nlongest river",
    });

    [Fact]
    public void Placeholders_map_to_fields_explicitly_or_by_their_own_name()
    {
        // Given a template whose {page} is mapped to the url field and {text} keeps its name
        var template = PromptTemplate.Parse("URL {page}\nQ {known_queries}\nT {text}", "t.txt");

        // When
        var prompt = PromptBuilder.Render(template, Item(), new Dictionary<string, string> { ["page"] = "url" }, 750, null);

        // Then
        Assert.Equal("URL https://example.org/loire\nQ loire\nlongest river\nT Loire The Loire is the longest river in France.", prompt);
    }

    [Fact]
    public void A_placeholder_mapped_to_an_unknown_field_is_one_error_naming_both()
    {
        var template = PromptTemplate.Parse("{url} {body}", "q.txt");

        var error = Assert.Throws<SkimConfigException>(() => new PromptBuilder(template, null, 750, null));

        Assert.Contains("'{body}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("field 'body'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mapping_for_a_placeholder_the_template_lacks_is_one_error_naming_both()
    {
        var template = PromptTemplate.Parse("{url} {text}", "q.txt");

        var error = Assert.Throws<SkimConfigException>(() => new PromptBuilder(template, new Dictionary<string, string> { ["summary"] = "content" }, 750, null));

        Assert.Contains("'{summary}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'content'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_tokenizer_values_are_cut_at_four_characters_per_token()
    {
        var builder = new PromptBuilder(PromptTemplate.Parse("{content}", "t.txt"), null, 5, null);

        var prompt = builder.Render(Item(new string('x', 50)));

        Assert.Equal(new string('x', 20), prompt);
    }

    [Fact]
    public void With_the_SLM_tokenizer_values_keep_the_longest_prefix_within_the_token_budget()
    {
        // Given a WordPiece vocabulary where every word is one token, and a budget of 4 tokens
        var folder = _dir.File("tok");
        Directory.CreateDirectory(folder);
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "loire", "is", "longest", "river", "in", "france", "."]);
        var tokenizer = TokenizerLoader.Load(folder);
        var builder = new PromptBuilder(PromptTemplate.Parse("{content}", "t.txt"), null, 4, tokenizer);

        // When
        var prompt = builder.Render(Item("the loire is the longest river in france."));

        // Then exactly four tokens are kept, as a prefix of the original text
        Assert.Equal("the loire is the", prompt);
        Assert.Equal(4, tokenizer.EncodeWithoutSpecialTokens(prompt).Count);
    }
}
