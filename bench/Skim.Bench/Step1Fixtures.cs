using System.Globalization;
using System.Text;
using Skim.Core.Datasets;
using Skim.Core.Formats.Corpus;
using Skim.Core.Formats.SafeTensors;
using Skim.Models.Llama;
using Skim.Models.ModelFactory;
using Skim.Models.Tokenization;
using Skim.Models.Vocabulary;
using Skim.Models.Weights;
using static TorchSharp.torch;

namespace Skim.Bench;

/// <summary>
/// What the <c>step1</c> and <c>quant-quality</c> scenarios generate from: a pseudo-language (a
/// fixed lexicon drawn with Zipf frequencies, so that a trained byte-level BPE splits words into
/// several tokens as it does prose), a byte-level BPE trained on it, a random SmolLM-135M-shaped
/// checkpoint with that tokenizer, and an XC dataset whose labels carry long texts.
/// </summary>
internal static class Step1Fixtures
{
    private static readonly string[] s_onsets = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "ch", "st", "tr", "pl", "gr", "sh", "th", ""];
    private static readonly string[] s_vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ea", "y"];
    private static readonly string[] s_codas = ["", "", "", "n", "r", "s", "t", "l", "nd", "st", "ck", "m"];

    /// <summary>Returns <paramref name="count"/> distinct words of one to three syllables, the same for the same seed.</summary>
    public static string[] Lexicon(int count, int seed)
    {
        var random = new Random(seed);
        var words = new HashSet<string>(StringComparer.Ordinal);
        var ordered = new List<string>(count);
        while (ordered.Count < count)
        {
            var word = new StringBuilder();
            var syllables = 1 + random.Next(3);
            for (var s = 0; s < syllables; s++)
            {
                word.Append(s_onsets[random.Next(s_onsets.Length)]).Append(s_vowels[random.Next(s_vowels.Length)]).Append(s_codas[random.Next(s_codas.Length)]);
            }
            if (words.Add(word.ToString()))
            {
                ordered.Add(word.ToString());
            }
        }
        return [.. ordered];
    }

    /// <summary>Draws <paramref name="words"/> words of <paramref name="lexicon"/> (rank r with weight 1/(r+1)), in sentences.</summary>
    public static string Text(Random random, string[] lexicon, int words)
    {
        var cumulative = Cumulative(lexicon.Length);
        var text = new StringBuilder();
        var sentence = 0;
        for (var i = 0; i < words; i++)
        {
            var index = Array.BinarySearch(cumulative, random.NextDouble() * cumulative[^1]);
            var word = lexicon[Math.Min(index < 0 ? ~index : index, lexicon.Length - 1)];
            if (sentence == 0 && word.Length > 0)
            {
                word = char.ToUpperInvariant(word[0]) + word[1..];
            }
            text.Append(word);
            sentence++;
            if (sentence >= 6 && random.Next(8) == 0)
            {
                text.Append('.');
                sentence = 0;
            }
            text.Append(' ');
        }
        return text.ToString().TrimEnd() + ".";
    }

    /// <summary>
    /// Writes a byte-level BPE of about <paramref name="vocabSize"/> tokens trained on the pseudo-language into
    /// <paramref name="folder"/> and returns it loaded.
    /// </summary>
    public static ITextTokenizer WriteTokenizer(string folder, string[] lexicon, int vocabSize, int maxPositions)
    {
        var random = new Random(7);
        var corpus = Enumerable.Range(0, 3000).Select(_ => Text(random, lexicon, 16)).ToList();
        Directory.CreateDirectory(folder);
        ByteLevelBpeVocabularyBuilder.Build(corpus, DecoderSpecialTokens.Llama, new VocabularyOptions { VocabSize = vocabSize }).WriteTo(folder, maxPositions);
        return TokenizerLoader.Load(folder);
    }

    /// <summary>
    /// Writes a random checkpoint of SmolLM-135M's shape (vocabulary 49,152, tied embeddings) with
    /// <paramref name="layers"/> layers and the pseudo-language tokenizer into <paramref name="folder"/>.
    /// </summary>
    /// <remarks>
    /// The tokenizer has a few thousand ids and the model 49,152 rows, as a real checkpoint's
    /// rounded-up vocabulary has unused rows; the matmuls and the top-k run over all of them. Those
    /// rows and the special tokens' rows are zeroed: with tied embeddings their logits are then 0,
    /// below the top 200 of the roughly half of the real tokens that score above 0, so sampling
    /// never draws EOS (every row generates all its new tokens, in both engines) nor an id the
    /// tokenizer cannot decode.
    /// </remarks>
    public static string CreateRandomModel(string folder, int layers, int maxPositions, long seed, string[] lexicon)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
        var tokenizer = WriteTokenizer(folder, lexicon, 2000, maxPositions);
        var special = tokenizer.Special;
        var config = LlamaConfig.SmolLM135M with
        {
            NumHiddenLayers = layers,
            MaxPositionEmbeddings = maxPositions,
            BosTokenId = special.Bos,
            EosTokenIds = special.Eos is { } eos ? [eos] : [],
            PadTokenId = special.Pad,
        };
        manual_seed(seed);
        using var model = new LlamaForCausalLM(config);
        HfInitialization.Apply(model, config.InitializerRange, seed, "model.embed_tokens.weight", config.PadTokenId);
        using (no_grad())
        {
            var embedding = model.named_parameters().First(p => p.name == "model.embed_tokens.weight").parameter; // (V, H)
            embedding.narrow(0, tokenizer.VocabularySize, config.VocabSize - tokenizer.VocabularySize).zero_();
            foreach (var id in new[] { special.Bos, special.Eos, special.Pad, special.Unk }.OfType<int>().Distinct())
            {
                embedding[id].zero_();
            }
        }
        WeightSaver.SavePretrained(model, config, folder, TensorDType.Float32);
        return folder;
    }

    /// <summary>
    /// Writes an XC-layout dataset of <paramref name="items"/> labels, each a page of
    /// <paramref name="words"/> words with two training queries, so that step-1's query-side prompts
    /// are as long as the token budget lets them be.
    /// </summary>
    public static string CreateDataset(string folder, int items, int words, string[] lexicon)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(11);
        var labels = Enumerable.Range(0, items)
            .Select(i => new XcCorpusRecord($"page-{i.ToString(CultureInfo.InvariantCulture)}", Text(random, lexicon, 8), Text(random, lexicon, words), [], []))
            .ToList();
        var train = Enumerable.Range(0, 2 * items)
            .Select(i => new XcCorpusRecord($"q-{i.ToString(CultureInfo.InvariantCulture)}", Text(random, lexicon, 4), "", [i / 2], [1f]))
            .ToList();
        XcCorpus.Write(Path.Combine(folder, XcDatasetFiles.XcLabelCorpus), labels);
        XcCorpus.Write(Path.Combine(folder, XcDatasetFiles.XcTrainCorpus), train);
        XcCorpus.Write(Path.Combine(folder, XcDatasetFiles.XcTestCorpus), [new XcCorpusRecord("t-0", Text(random, lexicon, 4), "", [0], [1f])]);
        return folder;
    }

    private static double[] Cumulative(int count)
    {
        var cumulative = new double[count];
        var sum = 0.0;
        for (var r = 0; r < count; r++)
        {
            sum += 1.0 / (r + 1);
            cumulative[r] = sum;
        }
        return cumulative;
    }
}
