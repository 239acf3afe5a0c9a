using System.Globalization;
using System.Text;
using Skim.Core;
using Skim.Core.Formats.SafeTensors;
using static TorchSharp.torch;

namespace Skim.Models.Weights;

/// <summary>Strict loading of stored tensors into a TorchSharp module: everything must fit, or nothing is loaded.</summary>
public static class WeightLoader
{
    /// <summary>
    /// Copies <paramref name="weights"/> into <paramref name="module"/>'s parameters and persistent
    /// buffers, converting each to the dtype and device the module's tensor already has (so a module
    /// built in bfloat16 on CUDA receives float32 weights as bfloat16 on CUDA). Before copying
    /// anything, every missing key, unexpected key and shape mismatch is collected, and if there is
    /// any the load fails with one error listing all of them.
    /// </summary>
    /// <param name="module">The module to fill; its <c>state_dict()</c> keys are the expected keys.</param>
    /// <param name="weights">Stored tensors under module keys (map checkpoint names with <see cref="HfKeyMap"/> first).</param>
    /// <param name="source">The weight file or folder, named in the error.</param>
    /// <returns>The number of tensors loaded.</returns>
    /// <exception cref="SkimFormatException">Keys or shapes do not match; the message lists every problem.</exception>
    public static int LoadStrict(nn.Module module, IReadOnlyDictionary<string, RawTensor> weights, string source)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(weights);
        var expected = module.state_dict();
        var problem = Describe(expected, weights, module.GetName());
        if (problem is not null)
        {
            throw new SkimFormatException(source, null, problem);
        }
        using (no_grad())
        {
            foreach (var (key, target) in expected)
            {
                using var scope = NewDisposeScope();
                var value = TensorConversion.ToTorch(weights[key], target.dtype, target.device);
                target.copy_(value);
            }
        }
        return expected.Count;
    }

    /// <summary>
    /// Compares a module's expected tensors with stored ones and describes every difference in one
    /// line, or returns null when keys and shapes all match.
    /// </summary>
    public static string? Describe(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, RawTensor> weights, string moduleName)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(weights);
        var missing = expected.Keys.Where(k => !weights.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = weights.Keys.Where(k => !expected.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var mismatched = expected
            .Where(e => weights.TryGetValue(e.Key, out var w) && !w.Shape.SequenceEqual(e.Value.shape))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => $"{e.Key} (expected {ShapeText(e.Value.shape)}, found {weights[e.Key].ShapeText})")
            .ToList();
        if (missing.Count == 0 && unexpected.Count == 0 && mismatched.Count == 0)
        {
            return null;
        }
        var text = new StringBuilder($"weights do not fit {moduleName}:");
        Append(text, missing, "missing key", "missing keys");
        Append(text, unexpected, "unexpected key", "unexpected keys");
        Append(text, mismatched, "shape mismatch", "shape mismatches");
        return text.ToString();
    }

    /// <summary>Formats a shape as "[2, 3]", like <see cref="RawTensor.ShapeText"/>.</summary>
    public static string ShapeText(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    private static void Append(StringBuilder text, List<string> items, string one, string many)
    {
        if (items.Count == 0)
        {
            return;
        }
        if (text[^1] != ':')
        {
            text.Append(';');
        }
        text.Append(CultureInfo.InvariantCulture, $" {items.Count} {(items.Count == 1 ? one : many)}: {string.Join(", ", items)}");
    }
}
