using Skim.Models.Tokenization;

namespace Skim.Models.Tests.Tokenization;

/// <summary>
/// Golden cases for bert-base-uncased, derived by hand from Hugging Face's documented rules
/// (BasicTokenizer, then greedy longest-match-first WordPiece) on the real 30,522-token vocabulary.
/// </summary>
public sealed class BertWordPieceTokenizerTests
{
    private static readonly Lazy<BertWordPieceTokenizer> s_uncased = new(() =>
        BertWordPieceTokenizer.FromVocabFile(Path.Combine(TokenizerFixtures.BertBaseUncased, "vocab.txt")));

    private static BertWordPieceTokenizer Uncased => s_uncased.Value;

    [Fact]
    public void The_documented_example_of_the_transformers_docs_gives_its_ids()
    {
        // Given the sentence HF's BERT docs tokenize
        const string text = "Hello, my dog is cute";

        // When it is encoded with special tokens
        var ids = Uncased.Encode(text);

        // Then the ids are the documented ones
        Assert.Equal([101, 7592, 1010, 2026, 3899, 2003, 10140, 102], ids);
    }

    [Fact]
    public void The_vocabulary_packages_own_example_splits_strawberries()
    {
        // Given the example of the npm package the vocabulary comes from
        const string text = "i like strawberries";

        // When it is encoded without special tokens
        var ids = Uncased.EncodeWithoutSpecialTokens(text);

        // Then it gives the ids in that package's README
        Assert.Equal([1045, 2066, 13137, 20968], ids);
    }

    [Theory]
    [InlineData("Café Déjà vu", "cafe de ##ja vu")]
    [InlineData("don't!", "don ' t !")]
    [InlineData("hello\tworld", "hello world")]
    [InlineData("  hello \r\n\u00a0 world  ", "hello world")]
    [InlineData("hel\u200blo\u0000 wor\ufffdld", "hello world")]
    [InlineData("北京大学", "北 京 大 学")]
    [InlineData("東京hello", "東 京 hello")]
    [InlineData("东", "[UNK]")]
    [InlineData("こんにちは", "こ ##ん ##に ##ち ##は")]
    [InlineData("I love 😀", "i love [UNK]")]
    [InlineData("hi😀", "[UNK]")]
    [InlineData("naïve NAÏVE", "naive naive")]
    [InlineData("a$b^c`d", "a $ b ^ c ` d")]
    [InlineData("tokenization", "token ##ization")]
    [InlineData("unaffable", "una ##ffa ##ble")]
    [InlineData("the [MASK] sat", "the [MASK] sat")]
    [InlineData("the [mask] sat", "the [ mask ] sat")]
    [InlineData("", "")]
    public void Uncased_text_splits_as_hugging_face_documents(string text, string expected)
    {
        // Given bert-base-uncased's vocabulary (text from the theory data)

        // When the text is split into word pieces
        var tokens = Uncased.Tokenize(text);

        // Then the pieces follow HF's clean / CJK / lower-case / accent / punctuation / WordPiece rules
        Assert.Equal(expected, string.Join(' ', tokens));
    }

    [Fact]
    public void A_word_of_exactly_100_characters_is_split_and_101_characters_become_unk()
    {
        // Given words of 100 and 101 letters
        var hundred = new string('a', 100);
        var hundredAndOne = new string('a', 101);

        // When they are tokenized
        var atLimit = Uncased.Tokenize(hundred);
        var overLimit = Uncased.Tokenize(hundredAndOne);

        // Then the first is split greedily ("aaa" then "##aa"…) and the second is one [UNK]
        Assert.Equal(50, atLimit.Count);
        Assert.Equal("aaa", atLimit[0]);
        Assert.Equal("##a", atLimit[^1]);
        Assert.Equal(["[UNK]"], overLimit);
    }

    [Fact]
    public void Truncation_to_the_exact_max_length_keeps_cls_and_sep()
    {
        // Given a text of 8 word pieces
        const string text = "one two three four five six seven eight";

        // When it is encoded to max lengths of 10 (fits exactly), 6 and 2
        var exact = Uncased.Encode(text, maxLength: 10);
        var cut = Uncased.Encode(text, maxLength: 6);
        var specialsOnly = Uncased.Encode(text, maxLength: 2);

        // Then the exact fit is untouched, the cut keeps the first 4 pieces, and [SEP] always ends the row
        Assert.Equal(10, exact.Length);
        Assert.Equal(Uncased.Encode(text), exact);
        Assert.Equal([101, 2028, 2048, 2093, 2176, 102], cut);
        Assert.Equal([101, 102], specialsOnly);
    }

    [Fact]
    public void A_batch_is_padded_with_zero_and_masked_like_ngame_token_files()
    {
        // Given two texts and NGAME's options (pad to max length, truncate)
        string[] texts = ["Hello, my dog is cute", "one two three four five six seven eight nine ten"];
        var options = new BatchEncodeOptions { MaxLength = 8 };

        // When the batch is encoded
        var batch = Uncased.EncodeBatch(texts, options);

        // Then both rows are 8 wide, the short one exactly fits, the long one is cut before [SEP]
        Assert.Equal((2, 8), (batch.Rows, batch.Width));
        Assert.Equal([101, 7592, 1010, 2026, 3899, 2003, 10140, 102], batch.IdsOf(0).ToArray());
        Assert.Equal([101, 2028, 2048, 2093, 2176, 2274, 2416, 102], batch.IdsOf(1).ToArray());
        Assert.All(batch.AttentionMask, m => Assert.Equal(1, m));
    }

    [Fact]
    public void Padding_uses_the_pad_id_and_a_zero_mask_on_the_right()
    {
        // Given a short text and a max length of 6
        string[] texts = ["hello world"];

        // When it is padded on the right and on the left
        var right = Uncased.EncodeBatch(texts, new BatchEncodeOptions { MaxLength = 6 });
        var left = Uncased.EncodeBatch(texts, new BatchEncodeOptions { MaxLength = 6, PaddingSide = PaddingSide.Left });

        // Then [PAD] (id 0) fills the rest and the mask marks only the 4 real tokens
        Assert.Equal([101, 7592, 2088, 102, 0, 0], right.IdsOf(0).ToArray());
        Assert.Equal([1, 1, 1, 1, 0, 0], right.MaskOf(0).ToArray());
        Assert.Equal([0, 0, 101, 7592, 2088, 102], left.IdsOf(0).ToArray());
        Assert.Equal([0, 0, 1, 1, 1, 1], left.MaskOf(0).ToArray());
    }

    [Fact]
    public void Decoding_joins_continuations_and_drops_special_tokens()
    {
        // Given the ids of a text with continuations and punctuation
        var ids = Uncased.Encode("Tokenization isn't hard, is it?");

        // When they are decoded
        var text = Uncased.Decode(ids);

        // Then the text is the lower-cased original with HF's clean-up of spaces
        Assert.Equal("tokenization isn't hard, is it?", text);
    }

    [Fact]
    public void A_cased_vocabulary_keeps_case_and_accents()
    {
        // Given a tiny cased vocabulary
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Café", "café", "cafe", "Ca", "##fé", "!"];
        var cased = BertWordPieceTokenizer.FromTokens(vocab, new BertWordPieceSettings { LowerCase = false });

        // When text with capitals and accents is tokenized
        var tokens = cased.Tokenize("Café café CAFE!");

        // Then nothing is lower-cased or stripped, and an unknown word is [UNK]
        Assert.Equal(["Café", "café", "[UNK]", "!"], tokens);
        Assert.False(cased.LowerCase);
    }

    [Fact]
    public void Special_ids_are_bert_base_uncased_ones()
    {
        // Given the real vocabulary

        // When its special ids are read
        var special = Uncased.Special;

        // Then they are [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103, with no BOS/EOS
        Assert.Equal((0, 100, 101, 102, 103), (special.Pad, special.Unk, special.Cls, special.Sep, special.Mask));
        Assert.Null(special.Bos);
        Assert.Equal(30522, Uncased.VocabularySize);
    }
}
