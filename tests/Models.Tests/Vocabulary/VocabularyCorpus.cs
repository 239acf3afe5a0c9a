namespace Skim.Models.Tests.Vocabulary;

/// <summary>A small deterministic corpus: sentences over a fixed word list, with a skewed word distribution.</summary>
internal static class VocabularyCorpus
{
    private static readonly string[] s_words =
    [
        "the", "cat", "sat", "on", "mat", "running", "runner", "runs", "query", "queries", "label", "labels",
        "missing", "knowledge", "extreme", "classification", "model", "models", "encoder", "decoder",
    ];

    private static readonly string[] s_syllables = ["ka", "lo", "mi", "ren", "tas", "vu", "zor", "pel", "qui", "dan", "sho", "bri"];

    /// <summary>Gets <paramref name="count"/> lines; word i of line j is picked by a fixed formula, favouring the first words.</summary>
    public static IReadOnlyList<string> Lines(int count = 300)
    {
        var lines = new List<string>(count);
        for (var j = 0; j < count; j++)
        {
            var length = 4 + j % 5;
            var words = Enumerable.Range(0, length).Select(i => s_words[(i * i + j * 7 + i * j) % (i % 3 == 0 ? 5 : s_words.Length)]);
            // Made-up words from syllables give the merges more to learn than the fixed words alone.
            var invented = string.Concat(Enumerable.Range(0, 2 + j % 3).Select(k => s_syllables[(j * 5 + k * 7 + j / 12) % s_syllables.Length]));
            lines.Add((j % 4 == 0 ? "The " : "") + string.Join(' ', words) + " " + invented + (j % 3 == 0 ? "." : ", really!"));
        }
        return lines;
    }
}
