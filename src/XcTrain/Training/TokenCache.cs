using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Skim.Core;
using Skim.Core.Formats.Npy;
using Skim.Core.IO;
using Skim.Models.Tokenization;

namespace Skim.XcTrain.Training;

/// <summary>
/// Token ids of the train points and the labels, tokenized once and kept as NGAME token files
/// (<c>trn_doc_input_ids.npy</c>, <c>lbl_input_ids.npy</c> and their attention masks, int64,
/// (N, max_len)) with a <c>cache.json</c> naming the tokenizer, length and texts they came from. A
/// cache written by another tokenizer is refused rather than silently used: its ids would index
/// the wrong embedding rows.
/// </summary>
public sealed class TokenCache
{
    /// <summary>The file that says what a cache folder holds.</summary>
    public const string ManifestName = "cache.json";

    // The files that define a Hugging Face tokenizer; their bytes identify it.
    private static readonly string[] s_tokenizerFiles =
        ["tokenizer.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"];

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private TokenCache(EncodedBatch points, EncodedBatch labels)
    {
        Points = points;
        Labels = labels;
    }

    /// <summary>Gets the train point tokens, (points, max_len).</summary>
    public EncodedBatch Points { get; }

    /// <summary>Gets the label tokens, (labels, max_len).</summary>
    public EncodedBatch Labels { get; }

    /// <summary>
    /// Opens the cache in <paramref name="directory"/> when it was made from these texts with this
    /// tokenizer and length, else tokenizes and writes it (atomically, file by file, manifest last).
    /// </summary>
    /// <exception cref="SkimDataException">The folder holds a cache of another tokenizer, length or texts.</exception>
    public static TokenCache OpenOrCreate(string directory, string tokenizerDirectory, IReadOnlyList<string> points, IReadOnlyList<string> labels, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var key = new CacheKey(TokenizerFingerprint(tokenizerDirectory), maxLength, TextsFingerprint(points), TextsFingerprint(labels));
        var manifest = Path.Combine(directory, ManifestName);
        if (File.Exists(manifest))
        {
            var found = JsonSerializer.Deserialize<CacheKey>(File.ReadAllText(manifest), s_json)
                ?? throw new SkimFormatException(manifest, null, "expected a token cache description, found null");
            Check(manifest, key, found, tokenizerDirectory);
            return new TokenCache(Read(directory, "trn_doc"), Read(directory, "lbl"));
        }
        var tokenizer = TokenizerLoader.Load(tokenizerDirectory);
        var options = new BatchEncodeOptions { MaxLength = maxLength };
        var pointTokens = tokenizer.EncodeBatch(points, options);
        var labelTokens = tokenizer.EncodeBatch(labels, options);
        Directory.CreateDirectory(directory);
        Write(directory, "trn_doc", pointTokens);
        Write(directory, "lbl", labelTokens);
        AtomicFile.WriteAllText(manifest, JsonSerializer.Serialize(key, s_json) + "\n");
        return new TokenCache(pointTokens, labelTokens);
    }

    /// <summary>A fingerprint of the tokenizer files of <paramref name="directory"/> (XxHash128 of names and bytes).</summary>
    public static string TokenizerFingerprint(string directory)
    {
        var hash = new XxHash128();
        foreach (var name in s_tokenizerFiles)
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                hash.Append(Encoding.UTF8.GetBytes(name));
                hash.Append(File.ReadAllBytes(path));
            }
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    private static string TextsFingerprint(IReadOnlyList<string> texts)
    {
        var hash = new XxHash128();
        foreach (var text in texts)
        {
            hash.Append(Encoding.UTF8.GetBytes(text));
            hash.Append([0]);
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    private static void Check(string manifest, CacheKey expected, CacheKey found, string tokenizerDirectory)
    {
        if (found.Tokenizer != expected.Tokenizer)
        {
            throw new SkimDataException(manifest, "key 'tokenizer'", $"the token cache was written by another tokenizer than the encoder's ({tokenizerDirectory}); delete the cache folder or choose another --token-cache");
        }
        if (found.MaxLength != expected.MaxLength)
        {
            throw new SkimDataException(manifest, "key 'max_length'", $"the token cache holds max_length {found.MaxLength}, expected {expected.MaxLength}; delete the cache folder or choose another --token-cache");
        }
        if (found.Points != expected.Points || found.Labels != expected.Labels)
        {
            throw new SkimDataException(manifest, "key 'points'/'labels'", "the token cache was made from other texts than this dataset's; delete the cache folder or choose another --token-cache");
        }
    }

    private static void Write(string directory, string prefix, EncodedBatch batch)
    {
        NpyFile.Write(Path.Combine(directory, prefix + "_input_ids.npy"), NpyArray.Create(batch.InputIds, batch.Rows, batch.Width));
        NpyFile.Write(Path.Combine(directory, prefix + "_attention_mask.npy"), NpyArray.Create(batch.AttentionMask, batch.Rows, batch.Width));
    }

    private static EncodedBatch Read(string directory, string prefix)
    {
        var ids = NpyFile.Read(Path.Combine(directory, prefix + "_input_ids.npy"));
        var mask = NpyFile.Read(Path.Combine(directory, prefix + "_attention_mask.npy"));
        return new EncodedBatch(ids.As<long>(), mask.As<long>(), (int)ids.Shape[0], (int)ids.Shape[1]);
    }

    private sealed record CacheKey(string Tokenizer, int MaxLength, string Points, string Labels);
}
