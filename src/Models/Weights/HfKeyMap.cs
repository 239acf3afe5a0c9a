using Skim.Core;
using Skim.Core.Formats.SafeTensors;

namespace Skim.Models.Weights;

/// <summary>
/// The one place where checkpoint key names are translated to the keys of Skim's encoder modules
/// (which equal a plain HF <c>BertModel</c>/<c>DistilBertModel</c> state dict). Rules, in order:
/// <list type="number">
/// <item>Wrapper prefixes of known training code are stripped (see <see cref="WrapperPrefixes"/>):
/// NGAME's and SKIM's Siamese networks and sentence-transformers keep the HF model under
/// <c>…0.auto_model.</c>. NGAME's label tower (<c>encoder_lbl.</c>) is ignored: with NGAME's default
/// <c>share_weights</c> it is the same module as the document tower.</item>
/// <item>The base-model prefix of HF task checkpoints (<c>bert.</c>, <c>distilbert.</c>) is stripped;
/// the task heads beside it (<c>cls.*</c>, <c>vocab_*</c>, classifiers) are ignored, as
/// <c>AutoModel.from_pretrained</c> ignores them.</item>
/// <item>TF-era LayerNorm names <c>gamma</c>/<c>beta</c> become <c>weight</c>/<c>bias</c> (as HF renames them on load:
/// the original bert-base-uncased checkpoint still uses them).</item>
/// <item>Index buffers older transformers saved (<c>embeddings.position_ids</c>, <c>embeddings.token_type_ids</c>) are ignored:
/// Skim computes positions instead of storing them.</item>
/// </list>
/// Every ignored key is reported, and two source keys that land on one target key are an error.
/// </summary>
public static class HfKeyMap
{
    /// <summary>
    /// Gets the wrapper prefixes stripped by rule 1, with where each comes from:
    /// <c>encoder.encoder.transformer.0.auto_model.</c> — SKIM's step-2 <c>SiameseNetwork</c>
    /// (<c>ngame_state_dict.pt</c>): <c>SiameseNetwork.encoder</c> = <c>CustomEncoder</c>,
    /// <c>.encoder</c> = <c>STransformerInputLayer</c>, <c>.transformer</c> = a sentence-transformers
    /// model whose module <c>0</c> (<c>Transformer</c>) holds the HF model as <c>auto_model</c>
    /// (skim/step-2/create_embeddings.py in the SKIM repository).
    /// <c>encoder.transform.transform.0.auto_model.</c> — NGAME's <c>SiameseXMLIS</c>/<c>DeepXMLIS</c>
    /// network (<c>model_network.pkl</c>): <c>encoder</c> = <c>Transform</c>, <c>.transform</c> =
    /// <c>STransformer</c>, <c>.transform</c> = the sentence-transformers model
    /// (ngame/models/network.py, transform_layer.py, transformer_layer.py in Extreme-classification/ngame).
    /// <c>transform.transform.0.auto_model.</c> — NGAME's intermediate <c>Z.pkl</c> (the encoder's own state dict).
    /// <c>0.auto_model.</c> and <c>auto_model.</c> — a sentence-transformers model or its Transformer module.
    /// </summary>
    public static IReadOnlyList<string> WrapperPrefixes { get; } =
    [
        "encoder.encoder.transformer.0.auto_model.",
        "encoder.transform.transform.0.auto_model.",
        "transform.transform.0.auto_model.",
        "0.auto_model.",
        "auto_model.",
    ];

    /// <summary>Gets the prefixes of parts of a wrapper that hold no encoder weights of their own (NGAME's shared label tower).</summary>
    public static IReadOnlyList<string> IgnoredWrapperPrefixes { get; } = ["encoder_lbl."];

    private static readonly string[] s_ignoredBuffers = ["embeddings.position_ids", "embeddings.token_type_ids"];

    /// <summary>
    /// Maps checkpoint keys onto encoder module keys for <paramref name="modelType"/> ("bert" or "distilbert").
    /// </summary>
    /// <param name="weights">The checkpoint's tensors by key.</param>
    /// <param name="modelType">The config's model_type; it names the base-model prefix of task checkpoints.</param>
    /// <param name="source">The checkpoint path, for messages.</param>
    /// <returns>The tensors under module keys, and the checkpoint keys that were ignored.</returns>
    /// <exception cref="SkimFormatException">Two checkpoint keys map to the same module key.</exception>
    public static MappedWeights MapEncoder(IReadOnlyDictionary<string, RawTensor> weights, string modelType, string source)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var taskCheckpoint = IsTaskCheckpoint(weights.Keys, modelType);
        var mapped = new Dictionary<string, RawTensor>(StringComparer.Ordinal);
        var origin = new Dictionary<string, string>(StringComparer.Ordinal);
        var ignored = new List<string>();
        foreach (var (key, tensor) in weights)
        {
            var inner = MapKey(key, modelType, taskCheckpoint);
            if (inner is null)
            {
                ignored.Add(key);
                continue;
            }
            if (origin.TryGetValue(inner, out var first))
            {
                throw new SkimFormatException(source, $"key '{key}'", $"maps to '{inner}', which '{first}' already provides");
            }
            origin[inner] = key;
            mapped[inner] = tensor;
        }
        ignored.Sort(StringComparer.Ordinal);
        return new MappedWeights(mapped, ignored);
    }

    /// <summary>Tells whether the keys (after wrapper prefixes) hold the base model under a <c>bert.</c>/<c>distilbert.</c> prefix, as HF task checkpoints do.</summary>
    public static bool IsTaskCheckpoint(IEnumerable<string> keys, string modelType)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var basePrefix = modelType + ".";
        return keys.Any(k => StripWrapper(k) is { } inner && inner.StartsWith(basePrefix, StringComparison.Ordinal));
    }

    /// <summary>
    /// Maps one checkpoint key to a module key by the rules above, or returns null when the key is
    /// deliberately ignored. <paramref name="taskCheckpoint"/> comes from <see cref="IsTaskCheckpoint"/> over all keys.
    /// </summary>
    public static string? MapKey(string key, string modelType, bool taskCheckpoint)
    {
        var inner = StripWrapper(key);
        if (inner is null)
        {
            return null;
        }
        if (taskCheckpoint)
        {
            var basePrefix = modelType + ".";
            if (!inner.StartsWith(basePrefix, StringComparison.Ordinal))
            {
                // A task head (MLM, NSP, classifier) beside the base model.
                return null;
            }
            inner = inner[basePrefix.Length..];
        }
        if (inner.EndsWith(".gamma", StringComparison.Ordinal))
        {
            inner = inner[..^".gamma".Length] + ".weight";
        }
        else if (inner.EndsWith(".beta", StringComparison.Ordinal))
        {
            inner = inner[..^".beta".Length] + ".bias";
        }
        return s_ignoredBuffers.Contains(inner) ? null : inner;
    }

    /// <summary>Returns the key without a known wrapper prefix, the key itself when it has none, or null when it belongs to an ignored wrapper part.</summary>
    public static string? StripWrapper(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        foreach (var prefix in IgnoredWrapperPrefixes)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return null;
            }
        }
        foreach (var prefix in WrapperPrefixes)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return key[prefix.Length..];
            }
        }
        return key;
    }
}

/// <summary>Checkpoint tensors renamed to module keys, and the checkpoint keys deliberately left out.</summary>
/// <param name="Tensors">The tensors under module keys.</param>
/// <param name="Ignored">The checkpoint keys left out (task heads, index buffers, a shared label tower), sorted.</param>
public sealed record MappedWeights(IReadOnlyDictionary<string, RawTensor> Tensors, IReadOnlyList<string> Ignored);
