using Skim.Distill.Items;

namespace Skim.Distill.Tests.Items;

public sealed class ItemSamplerTests
{
    private static List<PromptItem> Items(int count, Func<int, bool>? hasText = null) =>
        [.. Enumerable.Range(0, count).Select(i => new PromptItem(i, $"u{i}", new Dictionary<string, string> { [PromptItems.TextField] = hasText is null || hasText(i) ? $"text {i}" : " " }))];

    [Fact]
    public void A_seeded_sample_is_reproducible_in_index_order_and_skips_items_without_metadata()
    {
        // Given 100 items, every tenth without text
        var items = Items(100, i => i % 10 != 0);

        // When the same seed draws twice, and another seed once
        var a = ItemSampler.Sample(items, null, new ItemSampleOptions { Items = 30, Seed = 4 });
        var b = ItemSampler.Sample(items, null, new ItemSampleOptions { Items = 30, Seed = 4 });
        var c = ItemSampler.Sample(items, null, new ItemSampleOptions { Items = 30, Seed = 5 });

        // Then
        Assert.Equal(a.Items.Select(i => i.Index), b.Items.Select(i => i.Index));
        Assert.NotEqual(a.Items.Select(i => i.Index), c.Items.Select(i => i.Index));
        Assert.Equal(30, a.Items.Count);
        Assert.True(a.Items.Select(i => i.Index).SequenceEqual(a.Items.Select(i => i.Index).Order()));
        Assert.DoesNotContain(a.Items, i => i.Index % 10 == 0);
        Assert.Equal((90, 10), (a.Eligible, a.SkippedWithoutMetadata));
    }

    [Fact]
    public void A_fraction_samples_that_share_of_the_eligible_items()
    {
        var sample = ItemSampler.Sample(Items(200), null, new ItemSampleOptions { Fraction = 0.25, Seed = 1 });

        Assert.Equal(50, sample.Items.Count);
    }

    [Fact]
    public void A_stratified_sample_takes_items_evenly_from_every_frequency_decile()
    {
        // Given 1000 items whose frequency is heavily skewed: item i has frequency 1000 - i squared-ish
        var items = Items(1000);
        var frequencies = Enumerable.Range(0, 1000).Select(i => i < 900 ? 1 + (i % 3) : 500 + i).ToArray();

        // When 50 are sampled, stratified and not
        var stratified = ItemSampler.Sample(items, frequencies, new ItemSampleOptions { Items = 50, Stratified = true, Seed = 3 });

        // Then each decile (100 items in frequency order) gives 5
        var order = Enumerable.Range(0, 1000).OrderBy(i => frequencies[i]).ThenBy(i => i).Select((item, rank) => (item, rank)).ToDictionary(p => p.item, p => p.rank / 100);
        var perDecile = stratified.Items.GroupBy(i => order[i.Index]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, perDecile.Count);
        Assert.All(perDecile.Values, n => Assert.Equal(5, n));
    }
}
