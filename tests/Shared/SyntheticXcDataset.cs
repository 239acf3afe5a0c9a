using System.Globalization;
using Skim.Core.Formats.Npz;
using Skim.Core.Sparse;

namespace Skim.Tests.Shared;

/// <summary>A small learnable XC dataset in the DEXML layout, for tests that train.</summary>
public static class SyntheticXcDataset
{
    private static readonly string[] s_words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];

    /// <summary>
    /// Writes <c>synthetic/</c> under <paramref name="dir"/>: <paramref name="train"/> points over
    /// <paramref name="labels"/> labels where point i ("topic-word item i about topic-word") links to
    /// label i mod labels, whose text shares the topic word, so an encoder can learn the mapping; the
    /// test split repeats the pattern. <paramref name="trainLabels"/> overrides each train row's labels.
    /// </summary>
    public static string Write(TempDirectory dir, int train = 48, int labels = 8, int test = 16, Func<int, int[]>? trainLabels = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var root = dir.File("synthetic");
        Directory.CreateDirectory(Path.Combine(root, "raw"));
        static string Word(int label) => s_words[label % s_words.Length] + (label / s_words.Length).ToString(CultureInfo.InvariantCulture);
        File.WriteAllLines(Path.Combine(root, "raw", "trn_X.txt"), Enumerable.Range(0, train).Select(i => $"{Word(i % labels)} item {i} about {Word(i % labels)}"));
        File.WriteAllLines(Path.Combine(root, "raw", "tst_X.txt"), Enumerable.Range(0, test).Select(i => $"{Word(i % labels)} query {i}"));
        File.WriteAllLines(Path.Combine(root, "raw", "Y.txt"), Enumerable.Range(0, labels).Select(l => $"{Word(l)} label"));
        trainLabels ??= i => [i % labels];
        SparseNpz.Save(Path.Combine(root, "Y.trn.npz"), CsrMatrix.FromRows(labels, [.. Enumerable.Range(0, train).Select(trainLabels)]));
        SparseNpz.Save(Path.Combine(root, "Y.tst.npz"), CsrMatrix.FromRows(labels, [.. Enumerable.Range(0, test).Select(i => new[] { i % labels })]));
        return root;
    }
}
