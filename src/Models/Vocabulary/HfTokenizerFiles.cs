using System.Text.Encodings.Web;
using System.Text.Json;
using Skim.Core.IO;

namespace Skim.Models.Vocabulary;

/// <summary>Writes the JSON files of a Hugging Face tokenizer folder, atomically and in HF's indented layout.</summary>
internal static class HfTokenizerFiles
{
    // Tokens are written as they are (HF writes "Ġ", not "\u0120"), so the files read well and diff well.
    private static readonly JsonSerializerOptions s_options = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Serialises <paramref name="value"/> to <paramref name="path"/> with a final newline.</summary>
    public static void WriteJson(string path, object value) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, s_options) + "\n");
}
