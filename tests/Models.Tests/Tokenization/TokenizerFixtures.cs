using System.Runtime.CompilerServices;

namespace Skim.Models.Tests.Tokenization;

/// <summary>Paths of the real tokenizer files committed under tests/Models.Tests/Fixtures/tokenizers.</summary>
internal static class TokenizerFixtures
{
    public static string Root { get; } = FindRoot();

    public static string BertBaseUncased => Path.Combine(Root, "bert-base-uncased");

    public static string Gpt2 => Path.Combine(Root, "gpt2");

    public static string TinySentencePiece => Path.Combine(Root, "tiny-sentencepiece");

    /// <summary>Gets bench/reference/tokenizer_reference.py of this checkout (found from the source path, not the build folder).</summary>
    public static string ReferenceScript => Path.GetFullPath(Path.Combine(Root, "..", "..", "..", "..", "bench", "reference", "tokenizer_reference.py"));

    // The source path is recorded at compile time, so the fixtures are found wherever the test
    // assembly was built (builds may be out of tree).
    private static string FindRoot([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "Fixtures", "tokenizers"));
}
