using Skim.Models.Encoders;
using Skim.Models.Tokenization;

namespace Skim.Models.Tests.Encoders;

public sealed class EmbeddingClippingTests
{
    [Fact]
    public void A_right_padded_batch_is_cut_after_its_longest_row()
    {
        // Given a (3, 6) batch whose longest row has 4 tokens
        long[] ids = [101, 7, 8, 102, 0, 0, 101, 102, 0, 0, 0, 0, 101, 9, 102, 0, 0, 0];
        long[] mask = [1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0];
        var batch = new EncodedBatch(ids, mask, 3, 6);

        // When it is clipped
        var clipped = EmbeddingJob.ClipToLongest(batch);

        // Then it is (3, 4) with the same leading columns
        Assert.Equal(4, clipped.Width);
        Assert.Equal([101L, 7, 8, 102, 101, 102, 0, 0, 101, 9, 102, 0], clipped.InputIds);
        Assert.Equal([1L, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0], clipped.AttentionMask);
    }

    [Fact]
    public void A_batch_without_padding_columns_is_returned_as_it_is()
    {
        // Given a (2, 3) batch whose second row fills every column
        var batch = new EncodedBatch([1, 2, 0, 4, 5, 6], [1, 1, 0, 1, 1, 1], 2, 3);

        // When it is clipped
        var clipped = EmbeddingJob.ClipToLongest(batch);

        // Then the same instance comes back
        Assert.Same(batch, clipped);
    }

    [Fact]
    public void Left_padding_is_kept_whole_and_an_all_padding_batch_keeps_one_column()
    {
        // Given a left-padded batch, and a batch with no real token at all
        var left = new EncodedBatch([0, 0, 5, 0, 6, 7], [0, 0, 1, 0, 1, 1], 2, 3);
        var empty = new EncodedBatch([0, 0, 0, 0], [0, 0, 0, 0], 2, 2);

        // When they are clipped
        var keptLeft = EmbeddingJob.ClipToLongest(left);
        var keptEmpty = EmbeddingJob.ClipToLongest(empty);

        // Then the left-padded batch keeps its tokens, and the empty one is one column wide
        Assert.Same(left, keptLeft);
        Assert.Equal(1, keptEmpty.Width);
        Assert.Equal([0L, 0], keptEmpty.AttentionMask);
    }
}
