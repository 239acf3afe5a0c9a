namespace Skim.Models.Tokenization;

/// <summary>
/// GPT-2's reversible byte ↔ character map used by byte-level BPE vocabularies: printable Latin-1
/// bytes stand for themselves, the other 68 bytes map to U+0100 onwards in byte order (so a space
/// is written <c>Ġ</c>), which keeps every vocabulary entry free of whitespace and control characters.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = Build();
    private static readonly Dictionary<char, byte> s_charToByte = Enumerable.Range(0, 256).ToDictionary(b => s_byteToChar[b], b => (byte)b);

    /// <summary>Maps the UTF-8 bytes of <paramref name="text"/> to alphabet characters.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        var byteCount = System.Text.Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = byteCount <= 512 ? stackalloc byte[byteCount] : new byte[byteCount];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        return string.Create(byteCount, bytes.ToArray(), static (chars, b) =>
        {
            for (var i = 0; i < b.Length; i++)
            {
                chars[i] = s_byteToChar[b[i]];
            }
        });
    }

    /// <summary>Appends the bytes a vocabulary token stands for; false when it holds a character outside the alphabet.</summary>
    public static bool TryDecode(string token, List<byte> bytes)
    {
        foreach (var c in token)
        {
            if (!s_charToByte.TryGetValue(c, out var b))
            {
                return false;
            }
            bytes.Add(b);
        }
        return true;
    }

    private static char[] Build()
    {
        var map = new char[256];
        var extra = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }
}
